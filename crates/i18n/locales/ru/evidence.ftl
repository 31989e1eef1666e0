# Пакет доказательств для спора (PDF).
evidence-title = Доказательства доставки
evidence-subtitle = Отправление { $posting }: полная история отслеживания, её источники и хэши
evidence-cover = Отправление
evidence-posting = Номер отправления
evidence-order = Номер заказа
evidence-order-id = ID заказа Ozon
evidence-status-now = Статус Ozon сейчас
evidence-mode = Схема
evidence-tracking-number = Трек-номер
evidence-delivery-method = Способ доставки
evidence-tpl-provider = Служба доставки
evidence-warehouse = Склад
evidence-buyer-city = Город покупателя
evidence-promised = Ozon обещал покупателю
evidence-total = Сумма
evidence-store = Магазин
evidence-client-id = Client-Id
evidence-generated-utc = Сформировано (UTC)
evidence-generated-moscow = Сформировано (МСК)
evidence-version = Версия ozontrack, схема пакета
evidence-products = Товары
evidence-col-sku = SKU
evidence-col-offer = Артикул
evidence-col-name = Наименование
evidence-col-qty = Кол-во
evidence-col-price = Цена
evidence-ozon-timeline = История в Ozon
evidence-ozon-note = Каждое изменение статуса в Ozon и время, когда ozontrack его получил через Seller API.
evidence-no-legs = Участков перевозчиков нет: посылку доставляла только служба Ozon.
evidence-carrier-legs = Отслеживание у перевозчиков
evidence-leg = { $carrier } · { $number } · { $role }
evidence-continues = продолжает { $number }
evidence-times-note = Время в UTC; ниже — местное время места события, если оно известно.
evidence-col-time = Время (UTC / местное)
evidence-col-status = Статус
evidence-col-code-text = Код и текст (дословно)
evidence-col-place = Место
evidence-col-source = Источник
evidence-col-received = Получено ozontrack
evidence-delivery = Вручение
evidence-handover = Способ вручения
evidence-recipient = Получатель (как записал перевозчик)
evidence-no-delivery = Ни один перевозчик не сообщил о вручении.
evidence-conflicts = Расхождения источников
evidence-no-conflicts = Источники не противоречат друг другу.
evidence-alerts = Предупреждения и действия продавца
evidence-no-alerts = Предупреждений нет.
evidence-col-rule = Правило
evidence-col-severity = Важность
evidence-col-state = Состояние
evidence-col-opened = Открыто
evidence-col-history = История (кто, заметка)
evidence-deadlines = Сроки Ozon по спорам
evidence-deadlines-note = Правила Ozon в том виде, как они опубликованы на указанных страницах; они могут измениться.
evidence-col-deadline = Срок
evidence-col-source-page = Источник
evidence-attachments = Вложения продавца
evidence-no-attachments = Вложений нет.
evidence-col-file = Файл
evidence-col-type = Тип
evidence-col-size = Размер, байт
evidence-col-sha256 = SHA-256
evidence-col-taken = Время файла
evidence-col-added = Добавлено
evidence-integrity = Целостность
evidence-route = Маршрут
evidence-integrity-note = Каждый ответ перевозчика и Ozon, из которого прочитаны события, по его SHA-256 при получении. manifest.json в этом же архиве содержит эти хэши, а также SHA-256 этого PDF, evidence.json и каждого вложения: их проверяет `ozontrack evidence verify`.
evidence-ticket = Текст обращения в поддержку Ozon
evidence-ticket-delivered = Отправление { $posting } (заказ { $order }) вручено { $date } в { $place } по данным { $carrier } (операция { $code } «{ $text }»){ $handover }{ $recipient }. Полная история отслеживания с источниками и SHA-256 каждого ответа перевозчика приложена. Просим отклонить претензию покупателя о неполучении.
evidence-ticket-handover = , способ вручения: { $how }
evidence-ticket-recipient = , получатель: { $name }
evidence-ticket-undelivered = Ни один перевозчик не сообщил о вручении отправления { $posting } (заказ { $order }); последнее известное событие: { $last }. Полная история отслеживания с источниками приложена.
evidence-page = Стр. { $page } из { $pages }
handover-addressee = адресату
handover-e_signature = с простой электронной подписью (ПЭП)
handover-parcel_locker = через почтомат
handover-postman = почтальоном
handover-courier = курьером
deadline-packaging_video = Видео упаковки по запросу поддержки: в течение { $days } { $days ->
        [one] дня
       *[other] дней
    }
deadline-contest_withholding = Оспорить удержание: в течение { $days } { $days ->
        [one] дня
       *[other] дней
    }
deadline-return_dispute = Спор покупателя об отказе в возврате: в течение { $days } { $days ->
        [one] дня
       *[other] дней
    }
deadline-return_decision = Решение Ozon по спору о возврате: в течение { $days } { $days ->
        [one] дня
       *[other] дней
    }
