# ozontrack dashboard and buyer page: English.
lang-name = English
nav-today = Today
nav-postings = Postings
nav-alerts = Alerts
nav-carriers = Carriers & lanes
nav-api = API
logout = Log out
skip = Skip to content

login-title = Sign in to ozontrack
login-user = User
login-password = Password
login-submit = Sign in
login-failed = Wrong user or password.
login-throttled = Too many sign-in attempts. Try again in { $seconds } s.
login-link-spent = This sign-in link was used already or has expired. Ask for a new one with `ozontrack login-link`.
login-hint = Or open the one-time link printed by `ozontrack serve` / `ozontrack demo`.

today-title = What needs you today
today-at-risk = Postings at risk
today-active = Postings under way
today-newest = Needs you first
today-penalties = Penalty points
today-points = { $count ->
    [one] { $count } point
   *[other] { $count } points
}
today-penalty-window = { $count ->
    [one] in { $count } day
   *[other] in { $count } days
}
penalty-warning = close to suspension at { $threshold }
penalty-ok = below the warning at { $threshold }
penalty-suspension = advertising suspended
today-feeds = Tracking feeds
feed-ok = working
feed-failing = failing since { $since }
feed-never = not used yet
total = Total
none = Nothing here.
all-clear = No open alerts. Every parcel is moving.

severity-info = Info
severity-warning = Warning
severity-high_risk = High risk
severity-critical = Critical

mode-fbs = FBS
mode-rfbs = realFBS
mode-fbo = FBO
mode-crossborder = Cross-border

rule-stale = No movement
rule-break_point = Break point
rule-postal_silence = Silent at the post
rule-non_whitelisted = Carrier not allowed
rule-missing_tracking = No tracking number
rule-dispute = Dispute
rule-high_value = High value

action-contact_carrier = Contact the carrier
action-notify_buyer = Tell the buyer
action-open_ozon_ticket = Open an Ozon ticket
action-upload_tracking_number = Upload the tracking number
action-prepare_evidence = Prepare evidence
action-require_signature = Require a signature
action-review_carrier_choice = Review the carrier choice

state-open = Open
state-escalated = Escalated
state-acknowledged = Acknowledged
state-resolved = Resolved

postings-title = Postings
alerts-count = { $count ->
    [one] { $count } alert
   *[other] { $count } alerts
}
alerts-count-more = more than { $count } alerts
alerts-shown-worst = the { $count } worst shown
postings-count = { $count ->
    [one] { $count } posting
   *[other] { $count } postings
}
postings-count-more = more than { $count } postings
postings-none = No postings match these filters.
postings-export = Export this view
filter-store = Store
filter-status = Ozon status
filter-mode = Mode
filter-carrier = Carrier
filter-risk = Risk at least
filter-from = From
filter-to = To
filter-q = Posting or tracking number
filter-apply = Filter
filter-reset = Reset
filter-any = Any
next-page = Next page →

col-posting = Posting
col-store = Store
col-mode = Mode
col-status = Status
col-carriers = Carriers
col-risk = Risk
col-city = Buyer city
col-updated = Updated
col-time = Time
col-event = Event
col-place = Place
col-source = Source
col-tracking = Tracking number
col-role = Leg
col-next-check = Next check
col-severity = Severity
col-rule = Rule
col-why = Why
col-since = Since
col-state = State
col-actions = What to do
col-carrier = Carrier
col-legs = Legs
col-delivered = Delivered
col-stale-rate = Stale now
col-p50 = Median transit (days)
col-p90 = 90% within (days)
col-lane = Lane
col-postings = Postings
col-points = Points

posting-title = Posting { $number }
posting-estimate = Estimated delivery
estimate-window = { $from } – { $to }
estimate-with-basis = { $estimate } { $basis }
posting-promised = Ozon's promise to the buyer
promised-late = later than promised
labelled = { $label }: { $value }
promise-missed = { $promise } ({ promised-late })
estimate-delivered = Delivered { $at }
estimate-unknown = Not known yet
estimate-default = from typical times for this mode
estimate-learned = { $count ->
    [one] holds 95 % of { $count } delivery of { $group } after “{ $milestone }”
   *[other] holds 95 % of { $count } deliveries of { $group } after “{ $milestone }”
}
estimate-overdue = later than usual after “{ $milestone }”: counted from now
timeline-title = Journey
timeline-empty = No tracking events yet.
legs-title = Legs
alerts-title = Alerts
map-title = Route
map-no-points = No place on this journey is known on the map yet.
ack-note = What was done
ack-submit = Acknowledge
acked = Acknowledged by { $by }: { $note }
buyer-link = Buyer tracking page
times-in = Times in { $zone }
days = { $count ->
    [one] { $count } day
   *[other] { $count } days
}

alerts-inbox = Alerts inbox

carriers-title = Carriers
lanes-title = Lanes
chart-transit = Share of delivered legs by days in transit
chart-stale = Share of legs in transit that are stale now
window = Last { $count ->
    [one] { $count } day
   *[other] { $count } days
}

buyer-title = Where is my parcel?
buyer-order = Order { $number }
buyer-status = Status
buyer-estimate = Expected delivery
buyer-journey = Journey
buyer-not-found = There is no parcel at this address. Check the link you were sent.
buyer-updated = Last update { $at }

error-title = Something went wrong
error-not-found = Not found.
error-forbidden = This form has expired. Reload the page and try again.
error-internal = Something went wrong on our side; it has been logged.
error-bad-request = This request cannot be served: { $detail }

# Why a form was refused: "{field}: {problem}", the field by its label on the form.
refused-field = { $field }: { $problem }
refused-not-found = { $what ->
    [user] There is no such user (any more).
    [token] There is no such token (any more).
    [store] There is no such store (any more).
    [destination] There is no such destination (any more).
    [message] There is no such message (any more).
    [posting] There is no such posting.
   *[other] Not found: it may have been removed meanwhile.
}
problem-empty = it cannot be empty.
problem-too-long = at most { $max } characters.
problem-length = { $min } to { $max } characters.
problem-control = no line breaks or other control characters.
problem-one-word = one word, without spaces.
problem-reserved = “{ $value }” is the console's own sign-in; choose another name.
problem-taken = “{ $value }” is already taken.
problem-too-large = { $mib } MB; at most { $max } MB.
problem-too-many = at most { $max } at once.
problem-zone = “{ $value }” is not a time zone such as Asia/Shanghai or Europe/Moscow.
problem-time-of-day = “{ $value }” is not a time such as 09:00.
problem-date-or-time = “{ $value }” is not a date such as 2026-11-01.
problem-out-of-range = { $value } is not from { $min } to { $max }.
problem-not-one-of = “{ $value }” is not one of: { $known }.
problem-buyer-chat-test = a buyer chat is never tested: the test would reach a real buyer.
problem-not-retryable = only failed or skipped messages are sent again; this one is “{ $state }”.
problem-nothing-to-tell = the posting has no alert to tell the buyer of.
problem-which-leg = the posting has { $count } carrier legs: say which by its tracking number.
setup-http-url = an address starting with http:// or https://.
setup-robot-url = paste the robot's whole webhook address (with { $key }=…).
setup-feishu-hook = paste the bot's whole webhook address (…/hook/TOKEN).
setup-dingtalk-secret = a DingTalk signing secret starts with SEC.
setup-signing-secret = 24 to 64 bytes in base64 (whsec_…), or leave it empty for a new one.
setup-bot-token = the bot token from @BotFather, such as 123456:ABC….
setup-chat-id = the chat's id: a number (-100… for a group) or @channelname.
setup-smtp-url = smtp://user@host:587 or smtps://user@host:465.
setup-sender = the sender's e-mail address.
setup-recipients = at least one recipient's e-mail address.
setup-mailbox = “{ $value }” is not an e-mail address.
setup-store = the store whose buyers to tell.

filter-state = State
filter-severity = Severity
filter-rule = Rule
alerts-state-unresolved = Not resolved
alerts-state-all = Any state
alerts-select-all = Select all shown
alerts-bulk-ack = Acknowledge selected
alerts-bulk-done = { $count ->
    [one] One alert acknowledged.
   *[other] { $count } alerts acknowledged.
}
today-notices = Notices

# The postings report upload on the postings page.
import-title = Import the seller office's postings report
import-help = The FBS or FBO report exported from the seller office (CSV or XLSX), for a store without API access or for older history. Nothing is written when the file has a problem.
import-file = File
import-dry-run = Only check (write nothing)
import-submit = Import
import-busy = Reading the file…
import-failed = The import failed
import-too-large = The file is larger than 64 MiB.
import-done = { $postings } postings with { $products } products: { $new } added, { $updated } updated, { $unchanged } unchanged.
import-would = { $postings } postings with { $products } products: { $new } would be added, { $updated } updated, { $unchanged } unchanged. Nothing was written.
import-problems = { $count ->
    [one] One problem; nothing was written:
   *[other] { $count } problems; nothing was written:
}

nav-audit = Audit
nav-users = Users
store-paused = paused
stores-none = No stores yet: ozontrack stores add --name NAME --client-id ID --api-key-stdin
stores-col-name = Store
stores-col-client-id = Client-Id
stores-col-ozon-api = Ozon API
stores-col-timezone = Time zone
stores-col-language = Language
stores-col-next-sync = Next sync
stores-col-push-path = Ozon push path
stores-no-api = no API access: filled by imports
users-title = Users
users-intro = Who may sign in to the dashboard: a viewer reads, an operator also acts on parcels, an admin also runs stores, channels and users. Each sees every store or only the stores listed; any change signs the user out.
users-none = No users yet: only the console and its sign-in links reach the dashboard.
users-name = Name
users-role = Role
users-stores = Stores
users-all-stores = Every store
users-no-stores = none
users-state = State
users-enabled = enabled
users-disabled = disabled since { $since }
users-password = Password (at least 10 characters)
users-new-password = New password (leave empty to keep)
users-add = Add user
users-save = Save
users-disable = Disable
users-enable = Enable
users-added = User added.
users-changed = User changed; their sessions ended.
tokens-title = API tokens
tokens-intro = For scripts and other systems (an ERP, a BI tool): a token reads or acts through the JSON API with its role, on its stores. Its secret is shown once, when it is created; ozontrack keeps only its hash.
tokens-none = No tokens yet.
tokens-prefix = Starts with
tokens-created-at = Created
tokens-live = active
tokens-revoked = revoked since { $since }
tokens-revoke = Revoke
tokens-create = Create token
tokens-created = Token created.
tokens-secret = The secret of “{ $name }”: copy it now, it is not shown again.
tokens-revoked-notice = Token revoked; requests with it are refused.
audit-title = Audit trail
audit-intro = Every change made in ozontrack: who, what, where and when, newest first.
audit-col-at = When
audit-col-actor = Who
audit-col-action = What
audit-col-store = Store
audit-col-posting = Posting
audit-col-subject = Concerning
audit-col-detail = Values
audit-empty = Nothing has been changed yet.
audit-older = Older entries

# Dispute evidence on the posting page.
evidence-section = Dispute evidence
evidence-help = One zip for an Ozon support ticket: the PDF (your language and Russian), its JSON copy, your files and a manifest of SHA-256 hashes.
evidence-kept = In dispute: a pack was built automatically at { $time }.
evidence-download = Download the evidence pack
evidence-no-files = No files added yet: add the packaging video, photos or the acceptance receipt.
evidence-attach-file = Add a file
evidence-attach-submit = Add
evidence-attach-busy = Uploading…
evidence-attach-failed = The file was not added
evidence-attach-too-large = The file is larger than { $mb } MiB, the limit for an attachment.
