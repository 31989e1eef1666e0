# ozontrack 词汇（简体中文）：状态、运输段、数据来源，以及规则给出的原因。
# 后台、命令行、API、通知和证据包都从这里取词。

status-pending = 待处理
status-info_received = 已登记
status-in_transit = 运输中
status-out_for_delivery = 派送中
status-available_for_pickup = 待取件
status-delivery_failed = 投递失败
status-delivered = 已签收
status-exception = 异常
status-expired = 无更新
status-cancelled = 已取消

sub-registered = 已登记
sub-picked_up = 承运商已揽收
sub-in_transit = 运输中
sub-sorting = 分拣中
sub-departed_origin = 已离开始发国
sub-arrived_destination = 已到达目的国
sub-customs_processing = 清关中
sub-customs_released = 海关已放行
sub-customs_held = 海关扣留
sub-handed_to_last_mile = 已交付尾程承运商
sub-with_courier = 快递员派送中
sub-at_pickup_point = 已到自提点
sub-delivered = 已签收
sub-picked_up_by_recipient = 买家已取件
sub-conditionally_delivered = 已送达，待买家确认
sub-recipient_unavailable = 收件人不在
sub-refused = 买家拒收
sub-address_problem = 地址有误
sub-delayed = 延误
sub-returning = 退回中
sub-returned = 已退回
sub-lost = 丢失
sub-damaged = 破损
sub-destroyed = 已销毁
sub-disputed = 签收争议
sub-no_data = 无承运商数据
sub-cancelled = 已取消

ozon-status-acceptance_in_progress = 验收中
ozon-status-awaiting_approve = 等待确认
ozon-status-awaiting_packaging = 等待备货
ozon-status-awaiting_registration = 等待登记
ozon-status-awaiting_verification = 等待审核
ozon-status-awaiting_deliver = 等待发运
ozon-status-arbitration = 仲裁中
ozon-status-client_arbitration = 买家配送仲裁
ozon-status-driver_pickup = 司机取件中
ozon-status-delivering = 配送中
ozon-status-delivered = 已送达
ozon-status-cancelled = 已取消
ozon-status-cancelled_from_split_pending = 因拆分取消
ozon-status-not_accepted = 分拣中心未接收
ozon-status-sent_by_seller = 卖家已发货

ozon-substatus-posting_acceptance_in_progress = 验收中
ozon-substatus-posting_in_arbitration = 仲裁中
ozon-substatus-posting_created = 已创建
ozon-substatus-posting_in_carriage = 运输中
ozon-substatus-posting_not_in_carriage = 未装车
ozon-substatus-posting_registered = 已登记
ozon-substatus-posting_transferring_to_delivery = 正在移交配送
ozon-substatus-posting_awaiting_passport_data = 等待买家护照信息
ozon-substatus-posting_awaiting_registration = 等待登记
ozon-substatus-posting_registration_error = 登记出错
ozon-substatus-posting_split_pending = 等待拆分
ozon-substatus-posting_canceled = 已取消
ozon-substatus-posting_in_client_arbitration = 买家仲裁中
ozon-substatus-posting_delivered = 已送达
ozon-substatus-posting_received = 已收货
ozon-substatus-posting_conditionally_delivered = 已送达，待确认
ozon-substatus-posting_in_courier_service = 快递公司处理中
ozon-substatus-posting_in_pickup_point = 已到自提点
ozon-substatus-posting_on_way_to_city = 正运往买家所在城市
ozon-substatus-posting_on_way_to_pickup_point = 正运往自提点
ozon-substatus-posting_returned_to_warehouse = 已退回仓库
ozon-substatus-posting_transferred_to_courier_service = 已交快递公司
ozon-substatus-posting_driver_pick_up = 司机取件中
ozon-substatus-posting_not_in_sort_center = 未到分拣中心
ozon-substatus-posting_packing = 打包中
ozon-substatus-sent_by_seller = 卖家已发货
ozon-substatus-ship_failed = 发运失败

role-first_mile = 头程
role-last_mile = 尾程
role-single = 全程
role-marketplace = Ozon

source-ozon = Ozon
source-17track = 17TRACK
source-russian_post = 俄罗斯邮政
source-cdek = CDEK
source-manual = 手工录入
source-import = 导入的报表

carrier-source-detected = 自动识别
carrier-source-aggregator = 由 17TRACK 识别
carrier-source-manual = 手工指定

resolution-moved = 包裹已有新动态
resolution-posting_ended = 货件已结束
resolution-cleared = 条件已不成立
resolution-manual = 手工关闭

quote = “{ $text }”

reason-stale = 已 { $quiet } 小时无新动态（阈值 { $threshold } 小时）。
reason-stale-allowance = 阈值含国际段运输的 { $hours } 小时。
reason-stale-learned = 该线路上 { $hours } 小时以内的间隔属正常（依据 { $samples } 个样本）。
reason-last-event = 最后一条动态：{ $text }，{ $at }。
reason-no-event = 开始跟踪以来没有任何动态。
reason-break_point = { $text }，{ $at }，此后 { $days } 天没有尾程动态。
reason-postal_silence = { $text }，{ $at }，此后邮政已 { $days } 天没有动态。
reason-non_whitelisted = 使用{ $carrier }发货，该承运商不在店铺的 FBS 白名单内：Ozon 将扣 { $points } 分。
reason-missing_tracking = 尚未上传运单号；最晚发货时间为 { $at }。
reason-dispute = 货件处于“{ $status }”状态。
reason-high_value = 订单金额 { $total }（不低于 { $limit }）：应要求买家签收。

hold-feed_down = 暂缓：承运商数据源自 { $since } 起故障。
hold-feed_recovered = 暂缓：承运商数据源已于 { $at } 恢复，积压的动态仍在陆续到达。

# 预计送达所依据的包裹所处节点。
milestone-in_process = 订单处理中
milestone-first_mile = 头程承运商已揽收
milestone-departed_origin = 已离开始发国
milestone-arrived_destination = 已到达俄罗斯
milestone-customs_released = 已清关放行
milestone-last_mile = 尾程承运商已接收
milestone-at_pickup_point = 已到达自提点
milestone-out_for_delivery = 派送中
# 预计所依据的包裹范围。
estimate-level-city = 该线路发往该城市
estimate-level-lane = 该线路
estimate-level-carrier = 该承运商
estimate-level-mode = 该模式
estimate-level-all = 所有线路

access-role-viewer = 查看者
access-role-operator = 操作员
access-role-admin = 管理员

audit-alert-acknowledged = 已确认告警
audit-alert-resolved = 已解决告警
audit-leg-carrier-set = 手动设置承运商
audit-tracking-uploaded = 上传运单号
audit-report-imported = 导入货件报表
audit-evidence-attached = 为货件添加证据文件
audit-store-added = 添加店铺
audit-store-key-set = 设置店铺密钥
audit-store-paused = 暂停店铺
audit-store-resumed = 恢复店铺
audit-store-renamed = 重命名店铺
audit-store-removed = 删除店铺
audit-user-added = 添加用户
audit-user-changed = 修改用户
audit-user-disabled = 停用用户
audit-user-enabled = 启用用户
audit-token-created = 创建 API 令牌
audit-token-revoked = 吊销 API 令牌
audit-channel-added = 添加通知渠道
audit-channel-changed = 修改通知渠道
audit-channel-removed = 删除通知渠道
audit-channel-tested = 测试通知渠道
audit-message-retried = 重新发送消息
audit-template-changed = 修改模板
audit-backup-restored = 已从备份恢复数据库
