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
today-penalties = 罚分（90 天）
today-points = { $count } 分
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
postings-count = 共 { $count } 个货件
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

posting-title = 货件 { $number }
posting-estimate = 预计送达
estimate-window = { $from } – { $to }
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
chart-transit = 已签收运段的运输天数
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
