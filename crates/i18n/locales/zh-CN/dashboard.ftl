# ozontrack 卖家后台与买家查询页：简体中文。
lang-name = 中文
nav-today = 今日
nav-postings = 货件
nav-alerts = 预警
nav-carriers = 承运商与线路
nav-api = API
logout = 退出
skip = 跳到正文

login-title = 登录 ozontrack
login-user = 用户名
login-password = 密码
login-submit = 登录
login-failed = 用户名或密码错误。
login-throttled = 登录尝试次数过多，请在 { $seconds } 秒后重试。
login-link-spent = 此登录链接已使用或已过期。请用 `ozontrack login-link` 获取新链接。
login-hint = 也可以打开 `ozontrack serve` / `ozontrack demo` 打印的一次性链接。

today-title = 今天需要处理的事
today-at-risk = 有风险的货件
today-active = 运输中的货件
today-newest = 优先处理
today-penalties = 罚分
today-points = { $count } 分
today-penalty-window = 近 { $count } 天
penalty-warning = 接近 { $threshold } 分暂停线
penalty-ok = 低于 { $threshold } 分警告线
penalty-suspension = 广告已暂停
today-feeds = 物流数据源
feed-ok = 正常
feed-failing = 自 { $since } 起故障
feed-never = 尚未使用
total = 合计
none = 暂无内容。
all-clear = 没有未处理的预警，所有包裹都在正常移动。

severity-info = 提示
severity-warning = 警告
severity-high_risk = 高风险
severity-critical = 严重

mode-fbs = FBS
mode-rfbs = realFBS
mode-fbo = FBO
mode-crossborder = 跨境

rule-stale = 长时间无更新
rule-break_point = 轨迹断点
rule-postal_silence = 邮政无更新
rule-non_whitelisted = 非白名单承运商
rule-missing_tracking = 缺少运单号
rule-dispute = 争议
rule-high_value = 高货值

action-contact_carrier = 联系承运商
action-notify_buyer = 通知买家
action-open_ozon_ticket = 向 Ozon 提交工单
action-upload_tracking_number = 上传运单号
action-prepare_evidence = 准备证据
action-require_signature = 要求签收
action-review_carrier_choice = 重新选择承运商

state-open = 未处理
state-escalated = 已升级
state-acknowledged = 已确认
state-resolved = 已解决

postings-title = 货件
alerts-count = 共 { $count } 条预警
alerts-count-more = 超过 { $count } 条预警
alerts-shown-worst = 显示最严重的 { $count } 条
postings-count = 共 { $count } 个货件
postings-count-more = 超过 { $count } 个货件
postings-none = 没有符合筛选条件的货件。
postings-export = 导出当前列表
filter-store = 店铺
filter-status = Ozon 状态
filter-mode = 模式
filter-carrier = 承运商
filter-risk = 最低风险
filter-from = 从
filter-to = 到
filter-q = 货件号或运单号
filter-apply = 筛选
filter-reset = 重置
filter-any = 全部
next-page = 下一页 →

col-posting = 货件号
col-store = 店铺
col-mode = 模式
col-status = 状态
col-carriers = 承运商
col-risk = 风险
col-city = 买家城市
col-updated = 更新时间
col-time = 时间
col-event = 事件
col-place = 地点
col-source = 来源
col-tracking = 运单号
col-role = 运输段
col-next-check = 下次查询
col-severity = 级别
col-rule = 规则
col-why = 原因
col-since = 开始于
col-state = 状态
col-actions = 建议操作
col-carrier = 承运商
col-legs = 运段
col-delivered = 已签收
col-stale-rate = 无更新比例
col-p50 = 运输天数中位数
col-p90 = 90% 在此天数内
col-lane = 线路
col-postings = 货件数
col-points = 罚分

posting-title = 货件 { $number }
posting-estimate = 预计送达
estimate-window = { $from } – { $to }
estimate-with-basis = { $estimate }（{ $basis }）
posting-promised = Ozon 向买家承诺
promised-late = 晚于承诺
labelled = { $label }：{ $value }
promise-missed = { $promise }（{ promised-late }）
estimate-delivered = 已于 { $at } 签收
estimate-unknown = 暂无法预计
estimate-default = 依据该模式的通常时效
estimate-learned = 依据{ $group }{ $count }个包裹在“{ $milestone }”之后的送达时间，95% 落在此区间
estimate-overdue = “{ $milestone }”之后已超出通常时效：自现在起估算
timeline-title = 物流轨迹
timeline-empty = 暂无物流事件。
legs-title = 运段
alerts-title = 预警
map-title = 路线
map-no-points = 地图上暂时没有该轨迹的已知地点。
ack-note = 已采取的措施
ack-submit = 确认
acked = { $by } 已确认：{ $note }
buyer-link = 买家查询页
times-in = 时间按 { $zone } 显示
days = { $count } 天

alerts-inbox = 预警收件箱

carriers-title = 承运商
lanes-title = 线路
chart-transit = 已签收运段按运输天数的占比
chart-stale = 运输中运段当前无更新的比例
window = 最近 { $count } 天

buyer-title = 我的包裹在哪里？
buyer-order = 订单 { $number }
buyer-status = 状态
buyer-estimate = 预计送达
buyer-journey = 物流轨迹
buyer-not-found = 此地址没有包裹，请检查您收到的链接。
buyer-updated = 最后更新 { $at }

error-title = 出错了
error-not-found = 未找到。
error-forbidden = 表单已过期，请刷新页面后重试。
error-internal = 系统内部出错，已记录到日志。
error-bad-request = 无法处理此请求：{ $detail }

refused-field = { $field }：{ $problem }
refused-not-found = { $what ->
    [user] 该用户不存在（或已被删除）。
    [token] 该令牌不存在（或已被删除）。
    [store] 该店铺不存在（或已被删除）。
    [destination] 该通知渠道不存在（或已被删除）。
    [message] 该消息不存在（或已被删除）。
    [posting] 该货件不存在。
   *[other] 未找到：可能已被删除。
}
problem-empty = 不能为空。
problem-too-long = 最多 { $max } 个字符。
problem-length = { $min } 到 { $max } 个字符。
problem-control = 不能包含换行或其他控制字符。
problem-one-word = 只能是一个词，不能有空格。
problem-reserved = “{ $value }”是控制台自身的登录名，请换一个名称。
problem-taken = “{ $value }”已被使用。
problem-too-large = { $mib } MB，最大 { $max } MB。
problem-too-many = 一次最多 { $max } 个。
problem-zone = “{ $value }”不是时区，例如 Asia/Shanghai 或 Europe/Moscow。
problem-time-of-day = “{ $value }”不是时间，例如 09:00。
problem-date-or-time = “{ $value }”不是日期，例如 2026-11-01。
problem-out-of-range = { $value } 不在 { $min } 到 { $max } 之间。
problem-not-one-of = “{ $value }”不在可选范围内：{ $known }。
problem-buyer-chat-test = 买家聊天不能测试：测试消息会发给真实买家。
problem-not-retryable = 只有发送失败或被跳过的消息才能重发；这条消息的状态是“{ $state }”。
problem-nothing-to-tell = 该货件没有需要告知买家的预警。
problem-which-leg = 该货件有 { $count } 段承运商运输：请用跟踪号指明是哪一段。
setup-http-url = 以 http:// 或 https:// 开头的地址。
setup-robot-url = 请粘贴机器人完整的 Webhook 地址（含 { $key }=…）。
setup-feishu-hook = 请粘贴机器人完整的 Webhook 地址（…/hook/TOKEN）。
setup-dingtalk-secret = 钉钉加签密钥以 SEC 开头。
setup-signing-secret = 24 到 64 字节的 base64（whsec_…），或留空以生成新的。
setup-bot-token = 从 @BotFather 获得的机器人令牌，形如 123456:ABC…。
setup-chat-id = 聊天编号：数字（群组为 -100…）或 @频道名。
setup-smtp-url = smtp://user@host:587 或 smtps://user@host:465。
setup-sender = 发件人的电子邮件地址。
setup-recipients = 至少一个收件人的电子邮件地址。
setup-mailbox = “{ $value }”不是电子邮件地址。
setup-store = 要通知其买家的店铺。

filter-state = 状态
filter-severity = 严重程度
filter-rule = 规则
alerts-state-unresolved = 未解决
alerts-state-all = 任意状态
alerts-select-all = 全选当前列表
alerts-bulk-ack = 确认所选
alerts-bulk-done = 已确认 { $count } 条预警。
today-notices = 提示

# The postings report upload on the postings page.
import-title = 导入卖家后台的货件报表
import-help = 从卖家后台导出的 FBS 或 FBO 报表（CSV 或 XLSX），用于没有 API 权限的店铺或更早的历史。文件有任何问题时不会写入任何数据。
import-file = 文件
import-dry-run = 仅检查（不写入）
import-submit = 导入
import-busy = 正在读取文件…
import-failed = 导入失败
import-too-large = 文件超过 64 MiB。
import-done = 货件 { $postings } 个，商品 { $products } 件：新增 { $new }，更新 { $updated }，未变 { $unchanged }。
import-would = 货件 { $postings } 个，商品 { $products } 件：将新增 { $new }，更新 { $updated }，未变 { $unchanged }。未写入任何数据。
import-problems = 发现 { $count } 个问题，未写入任何数据：

nav-audit = 审计
nav-users = 用户
store-paused = 已暂停
stores-none = 还没有店铺：ozontrack stores add --name NAME --client-id ID --api-key-stdin
stores-col-name = 店铺
stores-col-client-id = Client-Id
stores-col-ozon-api = Ozon API
stores-col-timezone = 时区
stores-col-language = 语言
stores-col-next-sync = 下次同步
stores-col-push-path = Ozon 推送路径
stores-no-api = 无 API 权限：由导入填充
users-title = 用户
users-intro = 谁可以登录面板：查看者只读，操作员还可处理包裹，管理员还可管理店铺、通知渠道和用户。每个用户可见全部店铺或仅列出的店铺；任何修改都会结束该用户的会话。
users-none = 还没有用户：目前只能通过控制台及其一次性登录链接进入面板。
users-name = 名称
users-role = 角色
users-stores = 店铺
users-all-stores = 全部店铺
users-no-stores = 无
users-state = 状态
users-enabled = 已启用
users-disabled = 自 { $since } 起停用
users-password = 密码（至少 10 个字符）
users-new-password = 新密码（留空则不变）
users-add = 添加用户
users-save = 保存
users-disable = 停用
users-enable = 启用
users-added = 已添加用户。
users-changed = 已修改用户，其会话已结束。
tokens-title = API 令牌
tokens-intro = 供脚本和其他系统（ERP、BI 工具）使用：令牌按其角色、在其店铺范围内通过 JSON API 读取或操作。密钥只在创建时显示一次；ozontrack 只保存其哈希。
tokens-none = 还没有令牌。
tokens-prefix = 开头
tokens-created-at = 创建时间
tokens-live = 有效
tokens-revoked = 自 { $since } 起已吊销
tokens-revoke = 吊销
tokens-create = 创建令牌
tokens-created = 令牌已创建。
tokens-secret = “{ $name }”的密钥：请立即复制，之后不会再显示。
tokens-revoked-notice = 令牌已吊销，使用它的请求将被拒绝。
audit-title = 审计记录
audit-intro = ozontrack 中的每一次修改：谁、做了什么、在哪里、何时，最新的在前。
audit-col-at = 时间
audit-col-actor = 操作人
audit-col-action = 操作
audit-col-store = 店铺
audit-col-posting = 货件
audit-col-subject = 对象
audit-col-detail = 数值
audit-empty = 暂无修改记录。
audit-older = 更早的记录

# 货件页面上的争议证据。
evidence-section = 争议证据
evidence-help = 一个用于 Ozon 客服工单的压缩包：PDF（您的语言及俄语）、其 JSON 副本、您的文件以及 SHA-256 哈希清单。
evidence-kept = 争议中：证据包已于 { $time } 自动生成。
evidence-download = 下载证据包
evidence-no-files = 尚未添加文件：请添加打包视频、照片或揽收凭证。
evidence-attach-file = 添加文件
evidence-attach-submit = 添加
evidence-attach-busy = 正在上传…
evidence-attach-failed = 文件未能添加
evidence-attach-too-large = 文件超过 { $mb } MiB，即附件的上限。
