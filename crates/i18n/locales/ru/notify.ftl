# Уведомления: сообщения в чаты продавца и покупателям, и слова страницы «Уведомления».

channel-webhook = Подписанный вебхук
channel-email = Электронная почта
channel-wecom = Робот группы WeCom
channel-dingtalk = Робот DingTalk
channel-feishu = Бот Feishu
channel-telegram = Telegram
channel-ozon_chat = Чат с покупателем Ozon

topic-alert_opened = Новое оповещение
topic-alert_escalated = Оповещение обострилось
topic-alert_resolved = Оповещение снято
topic-daily = Ежедневная сводка
topic-penalty = Порог штрафных баллов
topic-feed_down = Источник недоступен
topic-feed_recovered = Источник восстановлен
topic-destination_disabled = Получатель отключён
topic-digest = Сводка
topic-test = Проверка

cause-bad_signature = подпись или секрет отклонены
cause-not_found = робот, токен или чат больше не существует
cause-gone = получатель сообщил, что адрес больше не действует (HTTP 410)
cause-blocked = бот заблокирован или удалён из чата
cause-login_refused = почтовый сервер отклонил вход
cause-not_allowed = отклонено списком IP или правилом ключевых слов
cause-plan = тариф магазина в Ozon не включает чат с покупателем (нужен Premium Plus или Pro)
cause-by_user = отключён вручную

destination-state-active = включён
destination-state-disabled = отключён

message-state-pending = ожидает
message-state-sent = отправлено
message-state-coalesced = отправлено в сводке
message-state-dead = не удалось
message-state-skipped = не отправлялось

outcome-sending = отправляется
outcome-sent = доставлено
outcome-retry = повтор позже
outcome-plain = повторено простым текстом
outcome-permanent = отклонено
outcome-reconfigure = нужна перенастройка
outcome-migrated = чат перенесён

notify-alert-opened = [{ $severity }] { $rule }: { $posting }
notify-alert-escalated = [теперь { $severity }] { $rule }: { $posting }
notify-alert-resolved = [снято] { $rule }: { $posting } ({ $resolution })
notify-leg = Трек-номер: { $leg }
notify-actions = Рекомендуется: { $actions }
notify-store = Магазин: { $store }
notify-open = Подробнее: { $link }
notify-daily-title = Ежедневная сводка за { $date }
notify-daily-store = { $store }: критических { $critical }, высокого риска { $high }, предупреждений { $warning }; за 24 ч открыто { $opened }, снято { $resolved }; штрафных баллов { $points }
notify-daily-quiet = Ничего не требует внимания.
notify-penalty-warning = [штрафные баллы] у { $store } уже { $total }
notify-penalty-suspension = [реклама приостановлена] у { $store } уже { $total } баллов
notify-penalty-body = Штрафные баллы за перевозчиков не из белого списка за последние { $days } дн. достигли { $total } (порог { $threshold }). Проверьте выбор перевозчиков.
notify-feed-down = Источник { $feed } не отвечает
notify-feed-down-body = С { $since } нет данных от { $feed }. Пока так, молчание его посылок не считается остановкой; их проверят снова, когда источник вернётся.
notify-feed-recovered = Источник { $feed } снова работает
notify-feed-recovered-body = { $feed } был недоступен с { $since } по { $until } и снова работает; накопившиеся данные догружаются.
notify-disabled = Получатель «{ $name }» отключён
notify-disabled-body = { $channel }: { $cause }. Проверьте настройки в панели и включите его снова; его сообщения сохранены, их можно отправить повторно.
notify-digest = { $count ->
    [one] { $count } уведомление
    [few] { $count } уведомления
   *[many] { $count } уведомлений
}
notify-digest-quiet = { $count ->
    [one] { $count } уведомление за тихие часы
    [few] { $count } уведомления за тихие часы
   *[many] { $count } уведомлений за тихие часы
}
notify-test = Проверочное сообщение ozontrack
notify-test-body = Проверка от { $by }: получатель «{ $name }» принимает сообщения.

notify-buyer-delayed = Заказ { $posting }: задержка в пути
notify-buyer-delayed-body = Здравствуйте! Служба доставки давно не обновляла статус вашей посылки. Мы уже связались с перевозчиком и следим за ней.
notify-buyer-escalated = Заказ { $posting }: мы продолжаем разбираться
notify-buyer-escalated-body = Мы продолжаем разбираться с задержкой и при необходимости откроем обращение в Ozon. Спасибо за терпение!
notify-buyer-estimate = Ожидаемая доставка: { $window }
notify-buyer-link = Где посылка: { $link }

nav-notifications = Уведомления
notifications-title = Уведомления
notifications-intro = Здесь оповещения становятся сообщениями: в чаты, почту и системы продавца, а покупателям — в чат Ozon. Каждое сообщение хранится в журнале отправки.
destinations-title = Получатели
destination-add = Добавить получателя
destination-name = Название
destination-kind = Канал
destination-address = Адрес
destination-secret = Секрет
destination-secret-hint = Ключ или access_token из адреса робота, секрет подписи, токен бота или пароль SMTP; хранится зашифрованным и больше не показывается.
destination-chat-id = Номер чата (Telegram)
destination-to = Кому
destination-from = От кого
destination-signing = Секрет подписи
destination-routing = Что получает
destination-language = Язык
destination-zone = Часовой пояс
destination-min-severity = Минимальный уровень
destination-stores = Магазины
destination-all-stores = все магазины
destination-quiet = Тихие часы
destination-daily = Сводка в
destination-state = Состояние
destination-sent = Отправлено
destination-waiting = Ожидает
destination-failed = Не удалось
destination-none = Получателей пока нет. Добавьте робота группы, и оповещения будут приходить в чат сами.
send-test = Отправить проверку
disable = Отключить
enable = Включить
remove = Удалить
save = Сохранить
retry = Отправить снова
outbox-title = Журнал отправки
outbox-empty = Журнал пуст.
outbox-all = Все
outbox-failed-only = Только неудачные
col-created = Создано
col-topic = Тема
col-destination = Получатель
col-attempts = Неудачных попыток
col-last-outcome = Последний результат
col-message = Сообщение
test-queued = Проверочное сообщение добавлено в журнал.
destination-added = Получатель добавлен.
demo-inbox = Что получил робот песочницы
