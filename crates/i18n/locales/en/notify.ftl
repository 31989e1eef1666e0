# Notifications: messages to sellers' groups and to buyers, and the words of the dashboard's
# notifications page.

channel-webhook = Signed webhook
channel-email = E-mail
channel-wecom = WeCom group robot
channel-dingtalk = DingTalk robot
channel-feishu = Feishu bot
channel-telegram = Telegram
channel-ozon_chat = Ozon buyer chat

topic-alert_opened = New alert
topic-alert_escalated = Alert escalated
topic-alert_resolved = Alert resolved
topic-daily = Daily summary
topic-penalty = Penalty threshold
topic-feed_down = Feed down
topic-feed_recovered = Feed recovered
topic-destination_disabled = Destination disabled
topic-digest = Digest
topic-test = Test

cause-bad_signature = the signature or secret was refused
cause-not_found = the robot, token or chat no longer exists
cause-gone = the receiver says the endpoint is gone (HTTP 410)
cause-blocked = the bot was blocked or removed from the chat
cause-login_refused = the mail server refused the login
cause-not_allowed = refused by the IP allow-list or keyword rule
cause-plan = the store's Ozon plan has no buyer chat (Premium Plus or Pro needed)
cause-by_user = disabled by hand

destination-state-active = active
destination-state-disabled = disabled

message-state-pending = waiting
message-state-sent = sent
message-state-coalesced = sent in a digest
message-state-dead = failed
message-state-skipped = not sent

outcome-sending = sending
outcome-sent = sent
outcome-retry = retry later
outcome-plain = sent again as plain text
outcome-permanent = refused
outcome-reconfigure = needs reconfiguring
outcome-migrated = chat moved

notify-alert-opened = [{ $severity }] { $rule }: { $posting }
notify-alert-escalated = [now { $severity }] { $rule }: { $posting }
notify-alert-resolved = [resolved] { $rule }: { $posting } ({ $resolution })
notify-leg = Tracking number: { $leg }
notify-actions = Suggested: { $actions }
notify-store = Store: { $store }
notify-open = Details: { $link }
notify-daily-title = Daily summary, { $date }
notify-daily-store = { $store }: { $critical } critical, { $high } high risk, { $warning } warnings; in the last 24 h { $opened } opened, { $resolved } resolved; { $points } penalty points
notify-daily-quiet = Nothing needs you.
notify-penalty-warning = [penalty warning] { $store } has { $total } points
notify-penalty-suspension = [advertising suspended] { $store } has { $total } points
notify-penalty-body = Whitelist penalty points over the last { $days } days reached { $total } (threshold { $threshold }). Review the carriers you ship with.
notify-feed-down = Feed { $feed } is not answering
notify-feed-down-body = No tracking from { $feed } since { $since }. Meanwhile its parcels' silence does not count as a stall; they are checked again when it returns.
notify-feed-recovered = Feed { $feed } is back
notify-feed-recovered-body = { $feed } was down from { $since } to { $until } and is back; the backlog of tracking is being read.
notify-disabled = Destination “{ $name }” was disabled
notify-disabled-body = { $channel }: { $cause }. Check its settings in the dashboard and enable it again; its messages are kept and can be sent again.
notify-digest = { $count ->
    [one] { $count } notification
   *[other] { $count } notifications
}
notify-digest-quiet = { $count ->
    [one] { $count } notification from quiet hours
   *[other] { $count } notifications from quiet hours
}
notify-test = ozontrack test message
notify-test-body = A test from { $by }: destination “{ $name }” receives messages.

notify-buyer-delayed = Order { $posting }: delayed in transit
notify-buyer-delayed-body = Hello! The carrier has not updated your parcel's status for a while. We have contacted the carrier and are following it closely.
notify-buyer-escalated = Order { $posting }: we are still on it
notify-buyer-escalated-body = We are still working on the delay and will open a case with Ozon if needed. Thank you for your patience!
notify-buyer-estimate = Expected delivery: { $window }
notify-buyer-link = Where your parcel is: { $link }

nav-notifications = Notifications
notifications-title = Notifications
notifications-intro = Alerts become messages here: to the seller's group chats, mailboxes or systems, and to buyers through the Ozon chat. Every message is kept in the outbox.
destinations-title = Destinations
destination-add = Add a destination
destination-name = Name
destination-kind = Channel
destination-address = Address
destination-secret = Secret
destination-secret-hint = The key or access_token of the robot's address, its signing secret, the bot token or the SMTP password; stored encrypted and never shown again.
destination-chat-id = Chat id (Telegram)
destination-to = To
destination-from = From
destination-signing = Signing secret
destination-routing = What it receives
destination-language = Language
destination-zone = Time zone
destination-min-severity = Lowest level
destination-stores = Stores
destination-all-stores = every store
destination-quiet = Quiet hours
destination-daily = Daily summary at
destination-state = State
destination-sent = Sent
destination-waiting = Waiting
destination-failed = Failed
destination-none = No destinations yet. Add a group robot and alerts reach the group by themselves.
send-test = Send a test
disable = Disable
enable = Enable
remove = Remove
save = Save
retry = Send again
outbox-title = Outbox
outbox-empty = The outbox is empty.
outbox-all = All
outbox-failed-only = Failed only
col-created = Created
col-topic = Topic
col-destination = Destination
col-attempts = Failed attempts
col-last-outcome = Last outcome
col-message = Message
test-queued = The test message is in the outbox.
destination-added = The destination was added.
demo-inbox = See what the sandbox robot received
