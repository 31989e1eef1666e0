# ozontrack's vocabulary in English: statuses, leg roles, sources and the reasons the rules
# give. Every reader (dashboard, CLI, API, notifications, evidence) renders them from here.

status-pending = Pending
status-info_received = Info received
status-in_transit = In transit
status-out_for_delivery = Out for delivery
status-available_for_pickup = Available for pickup
status-delivery_failed = Delivery failed
status-delivered = Delivered
status-exception = Exception
status-expired = No updates
status-cancelled = Cancelled

sub-registered = Registered
sub-picked_up = Picked up by the carrier
sub-in_transit = In transit
sub-sorting = Sorting
sub-departed_origin = Left the origin country
sub-arrived_destination = Arrived in the destination country
sub-customs_processing = In customs
sub-customs_released = Released by customs
sub-customs_held = Held by customs
sub-handed_to_last_mile = Handed to the last-mile carrier
sub-with_courier = With the courier
sub-at_pickup_point = At the pickup point
sub-delivered = Delivered
sub-picked_up_by_recipient = Collected by the buyer
sub-conditionally_delivered = Delivered, not yet confirmed
sub-recipient_unavailable = Recipient unavailable
sub-refused = Refused by the buyer
sub-address_problem = Address problem
sub-delayed = Delayed
sub-returning = Returning to the sender
sub-returned = Returned to the sender
sub-lost = Lost
sub-damaged = Damaged
sub-destroyed = Destroyed
sub-disputed = Disputed
sub-no_data = No carrier data
sub-cancelled = Cancelled

ozon-status-acceptance_in_progress = Acceptance in progress
ozon-status-awaiting_approve = Awaiting approval
ozon-status-awaiting_packaging = Awaiting packaging
ozon-status-awaiting_registration = Awaiting registration
ozon-status-awaiting_verification = Awaiting verification
ozon-status-awaiting_deliver = Awaiting shipment
ozon-status-arbitration = Arbitration
ozon-status-client_arbitration = Buyer's delivery arbitration
ozon-status-driver_pickup = With the driver
ozon-status-delivering = Being delivered
ozon-status-delivered = Delivered
ozon-status-cancelled = Cancelled
ozon-status-cancelled_from_split_pending = Cancelled by a split
ozon-status-not_accepted = Not accepted at the sorting centre
ozon-status-sent_by_seller = Sent by the seller

ozon-substatus-posting_acceptance_in_progress = acceptance in progress
ozon-substatus-posting_in_arbitration = in arbitration
ozon-substatus-posting_created = created
ozon-substatus-posting_in_carriage = in carriage
ozon-substatus-posting_not_in_carriage = not in the carriage
ozon-substatus-posting_registered = registered
ozon-substatus-posting_transferring_to_delivery = being handed to delivery
ozon-substatus-posting_awaiting_passport_data = awaiting the buyer's passport data
ozon-substatus-posting_awaiting_registration = awaiting registration
ozon-substatus-posting_registration_error = registration error
ozon-substatus-posting_split_pending = split pending
ozon-substatus-posting_canceled = cancelled
ozon-substatus-posting_in_client_arbitration = in the buyer's arbitration
ozon-substatus-posting_delivered = delivered
ozon-substatus-posting_received = received
ozon-substatus-posting_conditionally_delivered = delivered, not yet confirmed
ozon-substatus-posting_in_courier_service = with the courier service
ozon-substatus-posting_in_pickup_point = at the pickup point
ozon-substatus-posting_on_way_to_city = on its way to the buyer's city
ozon-substatus-posting_on_way_to_pickup_point = on its way to the pickup point
ozon-substatus-posting_returned_to_warehouse = returned to the warehouse
ozon-substatus-posting_transferred_to_courier_service = handed to the courier service
ozon-substatus-posting_driver_pick_up = with the driver
ozon-substatus-posting_not_in_sort_center = not at the sorting centre
ozon-substatus-posting_packing = being packed
ozon-substatus-sent_by_seller = sent by the seller
ozon-substatus-ship_failed = shipment failed

role-first_mile = First mile
role-last_mile = Last mile
role-single = End to end
role-marketplace = Ozon

source-ozon = Ozon
source-17track = 17TRACK
source-russian_post = Russian Post
source-cdek = CDEK
source-manual = Entered by hand
source-import = Imported report

carrier-source-detected = detected
carrier-source-aggregator = found by 17TRACK
carrier-source-manual = set by hand

resolution-moved = the parcel moved
resolution-posting_ended = the posting ended
resolution-cleared = the condition cleared
resolution-manual = resolved by hand

quote = “{ $text }”

reason-stale = No new event for { $quiet } h (threshold { $threshold } h).
reason-stale-allowance = The threshold includes { $hours } h for the journey between countries.
reason-stale-learned = On this lane gaps of up to { $hours } h are normal ({ $samples } seen).
reason-last-event = Last event: { $text } at { $at }.
reason-no-event = No event since tracking began.
reason-break_point = { $text } at { $at }, and no last-mile event in the { $days ->
    [one] { $days } day
   *[other] { $days } days
} since.
reason-postal_silence = { $text } at { $at }, and the post has been silent for { $days ->
    [one] { $days } day
   *[other] { $days } days
} since.
reason-non_whitelisted = Shipped with { $carrier }, which is not on the store's FBS whitelist: Ozon charges { $points ->
    [one] { $points } penalty point
   *[other] { $points } penalty points
}.
reason-missing_tracking = No tracking number uploaded; the ship-by date was { $at }.
reason-dispute = Ozon shows the posting as “{ $status }”.
reason-high_value = An order of { $total } (at least { $limit }): deliver against the buyer's signature.

hold-feed_down = Held back: the carrier feed has been failing since { $since }.
hold-feed_recovered = Held back: the carrier feed came back at { $at }; its backlog is still arriving.

# Where a parcel is, as far as its arrival goes (estimate milestones).
milestone-in_process = order in process
milestone-first_mile = accepted by the first-mile carrier
milestone-departed_origin = left the country of origin
milestone-arrived_destination = arrived in Russia
milestone-customs_released = released by customs
milestone-last_mile = accepted by the last-mile carrier
milestone-at_pickup_point = at the pickup point
milestone-out_for_delivery = out for delivery
# Which deliveries an estimate was learned from.
estimate-level-city = this lane to this city
estimate-level-lane = this lane
estimate-level-carrier = this carrier
estimate-level-mode = this mode
estimate-level-all = all lanes

access-role-viewer = Viewer
access-role-operator = Operator
access-role-admin = Admin

audit-alert-acknowledged = Alert acknowledged
audit-alert-resolved = Alert resolved
audit-leg-carrier-set = Carrier set by hand
audit-tracking-uploaded = Tracking numbers uploaded
audit-report-imported = Postings report imported
audit-evidence-attached = File added to a posting's evidence
audit-store-added = Store added
audit-store-key-set = Store key set
audit-store-paused = Store paused
audit-store-resumed = Store resumed
audit-store-renamed = Store renamed
audit-store-removed = Store removed
audit-user-added = User added
audit-user-changed = User changed
audit-user-disabled = User disabled
audit-user-enabled = User enabled
audit-token-created = API token created
audit-token-revoked = API token revoked
audit-channel-added = Channel added
audit-channel-changed = Channel changed
audit-channel-removed = Channel removed
audit-channel-tested = Channel tested
audit-message-retried = Message sent again
audit-template-changed = Template changed
audit-backup-restored = Database restored from a backup
