# ozontrack: панель продавца и страница покупателя, по-русски.
lang-name = Русский
nav-today = Сегодня
nav-postings = Отправления
nav-alerts = Тревоги
nav-carriers = Перевозчики и маршруты
nav-api = API
logout = Выйти
skip = К содержимому

login-title = Вход в ozontrack
login-user = Пользователь
login-password = Пароль
login-submit = Войти
login-failed = Неверный пользователь или пароль.
login-throttled = Слишком много попыток входа. Повторите через { $seconds } с.
login-link-spent = Эта ссылка для входа уже использована или устарела. Получите новую: `ozontrack login-link`.
login-hint = Или откройте одноразовую ссылку, которую напечатали `ozontrack serve` / `ozontrack demo`.

today-title = Что требует внимания сегодня
today-at-risk = Отправления под угрозой
today-active = Отправления в пути
today-newest = Требует внимания в первую очередь
today-penalties = Штрафные баллы
today-points = { $count ->
    [one] { $count } балл
    [few] { $count } балла
   *[many] { $count } баллов
}
today-penalty-window = за { $count } дн.
penalty-warning = близко к приостановке ({ $threshold })
penalty-ok = ниже порога предупреждения ({ $threshold })
penalty-suspension = продвижение приостановлено
today-feeds = Источники отслеживания
feed-ok = работает
feed-failing = сбой с { $since }
feed-never = ещё не использовался
total = Всего
none = Здесь пусто.
all-clear = Открытых тревог нет. Все посылки движутся.

severity-info = Сведения
severity-warning = Внимание
severity-high_risk = Высокий риск
severity-critical = Критично

mode-fbs = FBS
mode-rfbs = realFBS
mode-fbo = FBO
mode-crossborder = Трансграничная

rule-stale = Нет движения
rule-break_point = Разрыв отслеживания
rule-postal_silence = Молчание на почте
rule-non_whitelisted = Перевозчик не разрешён
rule-missing_tracking = Нет трек-номера
rule-dispute = Спор
rule-high_value = Дорогой заказ

action-contact_carrier = Связаться с перевозчиком
action-notify_buyer = Сообщить покупателю
action-open_ozon_ticket = Открыть обращение в Ozon
action-upload_tracking_number = Загрузить трек-номер
action-prepare_evidence = Собрать доказательства
action-require_signature = Требовать подпись
action-review_carrier_choice = Пересмотреть выбор перевозчика

state-open = Открыта
state-escalated = Эскалирована
state-acknowledged = Принята
state-resolved = Закрыта

postings-title = Отправления
alerts-count = { $count ->
    [one] { $count } тревога
    [few] { $count } тревоги
   *[many] { $count } тревог
}
alerts-count-more = { $count ->
    [one] более { $count } тревоги
   *[other] более { $count } тревог
}
alerts-shown-worst = показаны { $count } самых серьёзных
postings-count = { $count ->
    [one] { $count } отправление
    [few] { $count } отправления
   *[many] { $count } отправлений
}
postings-count-more = { $count ->
    [one] более { $count } отправления
   *[other] более { $count } отправлений
}
postings-none = Нет отправлений с такими фильтрами.
postings-export = Выгрузить этот список
filter-store = Магазин
filter-status = Статус Ozon
filter-mode = Схема
filter-carrier = Перевозчик
filter-risk = Риск не ниже
filter-from = С
filter-to = По
filter-q = Номер отправления или трек-номер
filter-apply = Показать
filter-reset = Сбросить
filter-any = Любой
next-page = Дальше →

col-posting = Отправление
col-store = Магазин
col-mode = Схема
col-status = Статус
col-carriers = Перевозчики
col-risk = Риск
col-city = Город покупателя
col-updated = Обновлено
col-time = Время
col-event = Событие
col-place = Место
col-source = Источник
col-tracking = Трек-номер
col-role = Участок
col-next-check = Следующая проверка
col-severity = Уровень
col-rule = Правило
col-why = Почему
col-since = С
col-state = Состояние
col-actions = Что сделать
col-carrier = Перевозчик
col-legs = Участки
col-delivered = Доставлено
col-stale-rate = Без движения
col-p50 = Медиана в пути (дни)
col-p90 = 90% за (дни)
col-lane = Маршрут
col-postings = Отправления
col-points = Баллы

posting-title = Отправление { $number }
posting-estimate = Ожидаемая доставка
estimate-window = { $from } – { $to }
estimate-with-basis = { $estimate } { $basis }
posting-promised = Ozon обещал покупателю
promised-late = позже обещанного
labelled = { $label }: { $value }
promise-missed = { $promise } ({ promised-late })
estimate-delivered = Доставлено { $at }
estimate-unknown = Пока неизвестно
estimate-default = по обычным срокам этой схемы
estimate-learned = { $count ->
    [one] в это окно попадают 95 % из { $count } доставки { $group } после этапа «{ $milestone }»
   *[other] в это окно попадают 95 % из { $count } доставок { $group } после этапа «{ $milestone }»
}
estimate-overdue = дольше обычного после этапа «{ $milestone }»: считаем от текущего момента
timeline-title = Путь посылки
timeline-empty = Событий отслеживания пока нет.
legs-title = Участки
alerts-title = Тревоги
map-title = Маршрут
map-no-points = Ни одно место этого пути пока не известно карте.
ack-note = Что сделано
ack-submit = Принять
acked = Принял(а) { $by }: { $note }
buyer-link = Страница отслеживания для покупателя
times-in = Время: { $zone }
days = { $count ->
    [one] { $count } день
    [few] { $count } дня
   *[many] { $count } дней
}

alerts-inbox = Входящие тревоги

carriers-title = Перевозчики
lanes-title = Маршруты
chart-transit = Доля доставленных участков по дням в пути
chart-stale = Доля участков в пути без движения сейчас
window = За { $count ->
    [one] последний { $count } день
    [few] последние { $count } дня
   *[many] последние { $count } дней
}

buyer-title = Где моя посылка?
buyer-order = Заказ { $number }
buyer-status = Статус
buyer-estimate = Ожидаемая доставка
buyer-journey = Путь посылки
buyer-not-found = По этому адресу посылки нет. Проверьте ссылку, которую вам прислали.
buyer-updated = Последнее обновление { $at }

error-title = Что-то пошло не так
error-not-found = Не найдено.
error-forbidden = Форма устарела. Обновите страницу и попробуйте ещё раз.
error-internal = Что-то сломалось на нашей стороне; ошибка записана в журнал.
error-bad-request = Запрос не может быть выполнен: { $detail }

refused-field = { $field }: { $problem }
refused-not-found = { $what ->
    [user] Такого пользователя нет (больше нет).
    [token] Такого токена нет (больше нет).
    [store] Такого магазина нет (больше нет).
    [destination] Такого получателя нет (больше нет).
    [message] Такого сообщения нет (больше нет).
    [posting] Такого отправления нет.
   *[other] Не найдено: возможно, уже удалено.
}
problem-empty = поле не может быть пустым.
problem-too-long = не больше { $max } символов.
problem-length = от { $min } до { $max } символов.
problem-control = без переносов строк и других управляющих символов.
problem-one-word = одно слово, без пробелов.
problem-reserved = «{ $value }» — вход самой консоли; выберите другое имя.
problem-taken = «{ $value }» уже занято.
problem-too-large = { $mib } МБ; не больше { $max } МБ.
problem-too-many = не больше { $max } за раз.
problem-zone = «{ $value }» — не часовой пояс вроде Europe/Moscow или Asia/Shanghai.
problem-time-of-day = «{ $value }» — не время вроде 09:00.
problem-date-or-time = «{ $value }» — не дата вроде 2026-11-01.
problem-out-of-range = { $value } — не от { $min } до { $max }.
problem-not-one-of = «{ $value }» нет среди: { $known }.
problem-buyer-chat-test = чат с покупателем не проверяют: проверка дошла бы до настоящего покупателя.
problem-not-retryable = повторно отправляются только неудачные или пропущенные сообщения; это — «{ $state }».
problem-nothing-to-tell = у отправления нет предупреждения, о котором стоит сообщить покупателю.
problem-which-leg = у отправления { $count } участков перевозчиков: укажите нужный по трек-номеру.
setup-http-url = адрес, начинающийся с http:// или https://.
setup-robot-url = вставьте полный адрес вебхука робота (с { $key }=…).
setup-feishu-hook = вставьте полный адрес вебхука бота (…/hook/TOKEN).
setup-dingtalk-secret = секрет подписи DingTalk начинается с SEC.
setup-signing-secret = от 24 до 64 байт в base64 (whsec_…) или оставьте пустым, чтобы создать новый.
setup-bot-token = токен бота от @BotFather вида 123456:ABC….
setup-chat-id = номер чата: число (-100… для группы) или @имяканала.
setup-smtp-url = smtp://user@host:587 или smtps://user@host:465.
setup-sender = адрес электронной почты отправителя.
setup-recipients = хотя бы один адрес получателя.
setup-mailbox = «{ $value }» — не адрес электронной почты.
setup-store = магазин, покупателям которого писать.

filter-state = Состояние
filter-severity = Важность
filter-rule = Правило
alerts-state-unresolved = Не решённые
alerts-state-all = Любое состояние
alerts-select-all = Выбрать все показанные
alerts-bulk-ack = Принять выбранные
alerts-bulk-done = { $count ->
    [one] Принята { $count } тревога.
    [few] Приняты { $count } тревоги.
   *[other] Принято { $count } тревог.
}
today-notices = Уведомления

# The postings report upload on the postings page.
import-title = Загрузить отчёт об отправлениях из личного кабинета
import-help = Отчёт FBS или FBO из личного кабинета (CSV или XLSX) — для магазина без доступа к API или для старой истории. Если в файле есть ошибка, ничего не записывается.
import-file = Файл
import-dry-run = Только проверить (ничего не записывать)
import-submit = Загрузить
import-busy = Читаем файл…
import-failed = Загрузка не удалась
import-too-large = Файл больше 64 МиБ.
import-done = Отправлений: { $postings }, товаров: { $products }; добавлено { $new }, обновлено { $updated }, без изменений { $unchanged }.
import-would = Отправлений: { $postings }, товаров: { $products }; будет добавлено { $new }, обновлено { $updated }, без изменений { $unchanged }. Ничего не записано.
import-problems = { $count ->
    [one] { $count } ошибка; ничего не записано:
    [few] { $count } ошибки; ничего не записано:
   *[many] { $count } ошибок; ничего не записано:
}

nav-audit = Журнал
nav-users = Пользователи
store-paused = приостановлен
stores-none = Магазинов пока нет: ozontrack stores add --name NAME --client-id ID --api-key-stdin
stores-col-name = Магазин
stores-col-client-id = Client-Id
stores-col-ozon-api = API Ozon
stores-col-timezone = Часовой пояс
stores-col-language = Язык
stores-col-next-sync = Следующая синхронизация
stores-col-push-path = Путь push-уведомлений Ozon
stores-no-api = без доступа к API: заполняется импортом
users-title = Пользователи
users-intro = Кто может войти в панель: наблюдатель читает, оператор ещё и работает с отправлениями, администратор ещё и управляет магазинами, каналами и пользователями. Каждый видит все магазины или только перечисленные; любое изменение завершает сеансы пользователя.
users-none = Пользователей пока нет: в панель входят только с консоли и по её одноразовым ссылкам.
users-name = Имя
users-role = Роль
users-stores = Магазины
users-all-stores = Все магазины
users-no-stores = нет
users-state = Состояние
users-enabled = включён
users-disabled = отключён с { $since }
users-password = Пароль (не менее 10 символов)
users-new-password = Новый пароль (пусто — оставить)
users-add = Добавить пользователя
users-save = Сохранить
users-disable = Отключить
users-enable = Включить
users-added = Пользователь добавлен.
users-changed = Пользователь изменён, его сеансы завершены.
tokens-title = API-токены
tokens-intro = Для скриптов и других систем (ERP, BI): токен читает или действует через JSON API со своей ролью и в своих магазинах. Секрет показывается один раз, при создании; ozontrack хранит только его хеш.
tokens-none = Токенов пока нет.
tokens-prefix = Начало
tokens-created-at = Создан
tokens-live = действует
tokens-revoked = отозван с { $since }
tokens-revoke = Отозвать
tokens-create = Создать токен
tokens-created = Токен создан.
tokens-secret = Секрет токена «{ $name }»: скопируйте его сейчас, больше он показан не будет.
tokens-revoked-notice = Токен отозван; запросы с ним отклоняются.
audit-title = Журнал действий
audit-intro = Каждое изменение в ozontrack: кто, что, где и когда, сначала новые.
audit-col-at = Когда
audit-col-actor = Кто
audit-col-action = Что
audit-col-store = Магазин
audit-col-posting = Отправление
audit-col-subject = Касается
audit-col-detail = Значения
audit-empty = Изменений пока не было.
audit-older = Более ранние записи

# Доказательства для спора на странице отправления.
evidence-section = Доказательства для спора
evidence-help = Один архив для обращения в поддержку Ozon: PDF (на вашем языке и на русском), его копия в JSON, ваши файлы и манифест с хэшами SHA-256.
evidence-kept = Спор: пакет собран автоматически { $time }.
evidence-download = Скачать пакет доказательств
evidence-no-files = Файлов пока нет: добавьте видео упаковки, фото или квитанцию о приёме.
evidence-attach-file = Добавить файл
evidence-attach-submit = Добавить
evidence-attach-busy = Загрузка…
evidence-attach-failed = Файл не добавлен
evidence-attach-too-large = Файл больше { $mb } МиБ — это предел для вложения.
