# Словарь ozontrack по-русски: статусы, участки пути, источники и причины, которые называют
# правила. Все, кто показывает их (панель, CLI, API, уведомления, доказательства), берут их отсюда.

status-pending = Ожидает
status-info_received = Зарегистрировано
status-in_transit = В пути
status-out_for_delivery = Передано курьеру
status-available_for_pickup = Ожидает в пункте выдачи
status-delivery_failed = Неудачная попытка вручения
status-delivered = Вручено
status-exception = Проблема
status-expired = Нет обновлений
status-cancelled = Отменено

sub-registered = Зарегистрировано
sub-picked_up = Принято перевозчиком
sub-in_transit = В пути
sub-sorting = Сортировка
sub-departed_origin = Покинуло страну отправления
sub-arrived_destination = Прибыло в страну назначения
sub-customs_processing = На таможне
sub-customs_released = Выпущено таможней
sub-customs_held = Задержано таможней
sub-handed_to_last_mile = Передано перевозчику последней мили
sub-with_courier = У курьера
sub-at_pickup_point = В пункте выдачи
sub-delivered = Вручено
sub-picked_up_by_recipient = Получено покупателем
sub-conditionally_delivered = Вручено, не подтверждено
sub-recipient_unavailable = Получатель недоступен
sub-refused = Покупатель отказался
sub-address_problem = Проблема с адресом
sub-delayed = Задерживается
sub-returning = Возвращается отправителю
sub-returned = Возвращено отправителю
sub-lost = Утеряно
sub-damaged = Повреждено
sub-destroyed = Уничтожено
sub-disputed = Спор о вручении
sub-no_data = Нет данных перевозчика
sub-cancelled = Отменено

ozon-status-acceptance_in_progress = Идёт приёмка
ozon-status-awaiting_approve = Ожидает подтверждения
ozon-status-awaiting_packaging = Ожидает упаковки
ozon-status-awaiting_registration = Ожидает регистрации
ozon-status-awaiting_verification = Ожидает проверки
ozon-status-awaiting_deliver = Ожидает отгрузки
ozon-status-arbitration = Арбитраж
ozon-status-client_arbitration = Клиентский арбитраж доставки
ozon-status-driver_pickup = У водителя
ozon-status-delivering = Доставляется
ozon-status-delivered = Доставлено
ozon-status-cancelled = Отменено
ozon-status-cancelled_from_split_pending = Отменено при разделении
ozon-status-not_accepted = Не принято на сортировочном центре
ozon-status-sent_by_seller = Отправлено продавцом

ozon-substatus-posting_acceptance_in_progress = идёт приёмка
ozon-substatus-posting_in_arbitration = в арбитраже
ozon-substatus-posting_created = создано
ozon-substatus-posting_in_carriage = в перевозке
ozon-substatus-posting_not_in_carriage = не попало в перевозку
ozon-substatus-posting_registered = зарегистрировано
ozon-substatus-posting_transferring_to_delivery = передаётся в доставку
ozon-substatus-posting_awaiting_passport_data = ожидает паспортные данные покупателя
ozon-substatus-posting_awaiting_registration = ожидает регистрации
ozon-substatus-posting_registration_error = ошибка регистрации
ozon-substatus-posting_split_pending = ожидает разделения
ozon-substatus-posting_canceled = отменено
ozon-substatus-posting_in_client_arbitration = в клиентском арбитраже
ozon-substatus-posting_delivered = доставлено
ozon-substatus-posting_received = получено
ozon-substatus-posting_conditionally_delivered = вручено, не подтверждено
ozon-substatus-posting_in_courier_service = в курьерской службе
ozon-substatus-posting_in_pickup_point = в пункте выдачи
ozon-substatus-posting_on_way_to_city = едет в город покупателя
ozon-substatus-posting_on_way_to_pickup_point = едет в пункт выдачи
ozon-substatus-posting_returned_to_warehouse = возвращено на склад
ozon-substatus-posting_transferred_to_courier_service = передано курьерской службе
ozon-substatus-posting_driver_pick_up = у водителя
ozon-substatus-posting_not_in_sort_center = не поступило на сортировочный центр
ozon-substatus-posting_packing = упаковывается
ozon-substatus-sent_by_seller = отправлено продавцом
ozon-substatus-ship_failed = отгрузка не удалась

role-first_mile = Первая миля
role-last_mile = Последняя миля
role-single = Весь путь
role-marketplace = Ozon

source-ozon = Ozon
source-17track = 17TRACK
source-russian_post = Почта России
source-cdek = СДЭК
source-manual = Введено вручную
source-import = Загруженный отчёт

carrier-source-detected = определён автоматически
carrier-source-aggregator = определён 17TRACK
carrier-source-manual = указан вручную

resolution-moved = посылка сдвинулась
resolution-posting_ended = отправление завершено
resolution-cleared = условие больше не выполняется
resolution-manual = закрыто вручную

quote = «{ $text }»

reason-stale = Нет новых событий { $quiet } ч (порог { $threshold } ч).
reason-stale-allowance = Порог включает { $hours } ч на путь между странами.
reason-stale-learned = На этом маршруте паузы до { $hours } ч обычны (по { $samples } наблюдениям).
reason-last-event = Последнее событие: { $text }, { $at }.
reason-no-event = Событий нет с начала отслеживания.
reason-break_point = { $text }, { $at }, и с тех пор { $days ->
    [one] { $days } день
    [few] { $days } дня
   *[many] { $days } дней
} нет событий последней мили.
reason-postal_silence = { $text }, { $at }, и с тех пор почта молчит { $days ->
    [one] { $days } день
    [few] { $days } дня
   *[many] { $days } дней
}.
reason-non_whitelisted = Отправлено через { $carrier }, а этого перевозчика нет в белом списке FBS магазина: Ozon начисляет { $points ->
    [one] { $points } штрафной балл
    [few] { $points } штрафных балла
   *[many] { $points } штрафных баллов
}.
reason-missing_tracking = Трек-номер не загружен; срок отгрузки был { $at }.
reason-dispute = Отправление в статусе «{ $status }».
reason-high_value = Заказ на { $total } (от { $limit }): вручать под подпись покупателя.

hold-feed_down = Отложено: источник данных перевозчика не работает с { $since }.
hold-feed_recovered = Отложено: источник данных перевозчика заработал в { $at }, накопившиеся события ещё поступают.

# Где посылка с точки зрения срока доставки (этапы оценки).
milestone-in_process = заказ в обработке
milestone-first_mile = принят первым перевозчиком
milestone-departed_origin = покинул страну отправления
milestone-arrived_destination = прибыл в Россию
milestone-customs_released = выпущен таможней
milestone-last_mile = принят перевозчиком последней мили
milestone-at_pickup_point = в пункте выдачи
milestone-out_for_delivery = передан курьеру
# По каким доставкам выучена оценка.
estimate-level-city = этого маршрута в этот город
estimate-level-lane = этого маршрута
estimate-level-carrier = этого перевозчика
estimate-level-mode = этой схемы
estimate-level-all = всех маршрутов

access-role-viewer = Наблюдатель
access-role-operator = Оператор
access-role-admin = Администратор

audit-alert-acknowledged = Тревога принята
audit-alert-resolved = Тревога закрыта
audit-leg-carrier-set = Перевозчик задан вручную
audit-tracking-uploaded = Трек-номера загружены
audit-report-imported = Отчёт об отправлениях импортирован
audit-evidence-attached = Файл добавлен к доказательствам отправления
audit-store-added = Магазин добавлен
audit-store-key-set = Ключ магазина задан
audit-store-paused = Магазин приостановлен
audit-store-resumed = Магазин возобновлён
audit-store-renamed = Магазин переименован
audit-store-removed = Магазин удалён
audit-user-added = Пользователь добавлен
audit-user-changed = Пользователь изменён
audit-user-disabled = Пользователь отключён
audit-user-enabled = Пользователь включён
audit-token-created = API-токен создан
audit-token-revoked = API-токен отозван
audit-channel-added = Канал добавлен
audit-channel-changed = Канал изменён
audit-channel-removed = Канал удалён
audit-channel-tested = Канал проверен
audit-message-retried = Сообщение отправлено повторно
audit-template-changed = Шаблон изменён
audit-backup-restored = База данных восстановлена из резервной копии
