//! The cabinet speaks Russian first and English on `?lang=en` (remembered
//! in a cookie). Every text a page shows comes from one of two tables.

/// A language of the cabinet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Russian, the default.
    Ru,
    /// English.
    En,
}

impl Lang {
    /// The `lang` attribute / cookie value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language a `?lang=` value or cookie names.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }
}

/// Every text of the pages built so far.
#[derive(Debug)]
pub struct Texts {
    /// The product's name.
    pub product: &'static str,
    /// Login page title.
    pub login_title: &'static str,
    /// Login field.
    pub email: &'static str,
    /// Login field.
    pub password: &'static str,
    /// Login button.
    pub sign_in: &'static str,
    /// Link to password recovery.
    pub forgot: &'static str,
    /// One message for any login failure.
    pub login_failed: &'static str,
    /// Lockout message.
    pub locked: &'static str,
    /// Too many failed logins from the client's address: the start of the
    /// sentence, followed by the wait in seconds and [`Texts::seconds`].
    pub address_throttled: &'static str,
    /// The unit after a number of seconds.
    pub seconds: &'static str,
    /// Navigation.
    pub nav_home: &'static str,
    /// Navigation.
    pub nav_devices: &'static str,
    /// Navigation.
    pub nav_history: &'static str,
    /// Navigation.
    pub nav_password: &'static str,
    /// Logout button.
    pub sign_out: &'static str,
    /// Home page: download block title.
    pub app_title: &'static str,
    /// Home page: download explanation.
    pub app_text: &'static str,
    /// Home page: download button.
    pub app_download: &'static str,
    /// The other language's switch label.
    pub other_language: &'static str,
    /// The other language's code.
    pub other_lang_code: &'static str,
    /// Devices page title.
    pub devices_title: &'static str,
    /// Column.
    pub serial: &'static str,
    /// Column.
    pub state: &'static str,
    /// Column.
    pub last_sign_on: &'static str,
    /// Column of actions.
    pub actions: &'static str,
    /// Device state (and the toggle's label).
    pub active: &'static str,
    /// Device state (and the toggle's label).
    pub blocked: &'static str,
    /// No sign-on yet.
    pub never: &'static str,
    /// A reader whose password sign-ons are locked by wrong passwords, before
    /// the time it unlocks.
    pub password_locked_until: &'static str,
    /// Accessible label of the toggle: what it does.
    pub block_it: &'static str,
    /// Accessible label of the toggle: what it does.
    pub unblock_it: &'static str,
    /// Link to the app password form.
    pub change_password: &'static str,
    /// No devices.
    pub no_devices: &'static str,
    /// App password page title.
    pub device_password_title: &'static str,
    /// Field.
    pub new_password: &'static str,
    /// Field.
    pub new_password_repeat: &'static str,
    /// Button.
    pub save: &'static str,
    /// Link back.
    pub cancel: &'static str,
    /// Field error.
    pub password_too_short: &'static str,
    /// Field error.
    pub passwords_differ: &'static str,
    /// Field error.
    pub password_not_ascii: &'static str,
    /// Field error: an app password longer than DE 48 carries.
    pub password_too_long: &'static str,
    /// Hint under the new password field.
    pub password_hint: &'static str,
    /// Cabinet password page title.
    pub password_title: &'static str,
    /// Field.
    pub current_password: &'static str,
    /// Field error.
    pub wrong_current: &'static str,
    /// Notice after a change.
    pub password_changed: &'static str,
    /// Hint under the cabinet's new password field.
    pub cabinet_password_hint: &'static str,
    // Password recovery
    /// Forgot page title.
    pub forgot_title: &'static str,
    /// Forgot page: what to enter and what follows.
    pub forgot_intro: &'static str,
    /// Forgot page button.
    pub send: &'static str,
    /// Forgot page: the one answer, whether or not the e-mail is registered.
    pub forgot_sent: &'static str,
    /// Field error: no e-mail given.
    pub email_required: &'static str,
    /// Field error: not an e-mail address.
    pub email_invalid: &'static str,
    /// Link back to the login page.
    pub back_to_login: &'static str,
    /// Reset page title.
    pub reset_title: &'static str,
    /// Reset page: what to do.
    pub reset_intro: &'static str,
    /// Title of the page for a link that does not work.
    pub reset_invalid_title: &'static str,
    /// Why a link may not work.
    pub reset_invalid: &'static str,
    /// Link to ask for a new one.
    pub ask_again: &'static str,
    /// Login page notice after a reset.
    pub password_reset_done: &'static str,
    /// The e-mail's subject.
    pub reset_mail_subject: &'static str,
    /// The e-mail's text; `{link}` stands for the link.
    pub reset_mail_text: &'static str,
    // Device notices
    /// A device notice starts with this word and the serial.
    pub notice_reader: &'static str,
    /// After the serial: the device is blocked.
    pub notice_blocked: &'static str,
    /// After the serial: the device is active again.
    pub notice_unblocked: &'static str,
    /// After the serial: its app password changed.
    pub notice_app_password: &'static str,
    // Home summary
    /// Home: today's block title, before the date.
    pub home_today: &'static str,
    /// Home: payments line.
    pub home_payments: &'static str,
    /// Home: refunds line.
    pub home_refunds: &'static str,
    /// Home: net line.
    pub home_net: &'static str,
    /// Home: nothing yet today.
    pub home_nothing_today: &'static str,
    /// Home: the readers block title.
    pub home_readers: &'static str,
    /// Home: how many readers are active.
    pub home_active: &'static str,
    /// Home: how many readers are blocked.
    pub home_blocked: &'static str,
    /// Home: link to the history.
    pub home_to_history: &'static str,
    /// Home: link to the devices.
    pub home_to_devices: &'static str,
    /// After a link was asked for: ask for another.
    pub forgot_again: &'static str,
}

const RU: Texts = Texts {
    product: "МТБанк mPOS",
    login_title: "Вход в личный кабинет",
    email: "E-mail",
    password: "Пароль",
    sign_in: "Войти",
    forgot: "Забыли пароль?",
    login_failed: "Неверный e-mail или пароль.",
    locked: "Слишком много неудачных попыток входа. Вход для этого e-mail заблокирован на 15 минут.",
    address_throttled: "Слишком много неудачных попыток входа с вашего адреса. Попробуйте снова через",
    seconds: "с",
    nav_home: "Главная",
    nav_devices: "Устройства",
    nav_history: "История платежей",
    nav_password: "Сменить пароль",
    sign_out: "Выйти",
    app_title: "Мобильное приложение",
    app_text: "Приложение для мобильного устройства под управлением Android 4.1 и выше.",
    app_download: "Скачать приложение",
    other_language: "English",
    other_lang_code: "en",
    devices_title: "Устройства",
    serial: "Номер терминала",
    state: "Состояние",
    last_sign_on: "Последний вход",
    actions: "Действия",
    active: "Активен",
    blocked: "Заблокирован",
    never: "не было",
    password_locked_until: "Вход по паролю заблокирован до",
    block_it: "Заблокировать терминал",
    unblock_it: "Разблокировать терминал",
    change_password: "Сменить пароль",
    no_devices: "У вас пока нет терминалов.",
    device_password_title: "Пароль мобильного приложения",
    new_password: "Новый пароль",
    new_password_repeat: "Повторите новый пароль",
    save: "Сохранить",
    cancel: "Отмена",
    password_too_short: "Пароль должен содержать не менее 10 символов.",
    passwords_differ: "Пароли не совпадают.",
    password_not_ascii: "Используйте латинские буквы, цифры и знаки без пробелов по краям.",
    password_too_long: "Пароль должен содержать не более 999 символов.",
    password_hint: "Не менее 10 символов. Вход в приложение с этого терминала потребуется заново.",
    password_title: "Смена пароля к кабинету",
    current_password: "Текущий пароль",
    wrong_current: "Текущий пароль указан неверно.",
    password_changed: "Пароль изменён. Остальные сеансы входа в кабинет завершены.",
    cabinet_password_hint: "Не менее 10 символов.",
    // Password recovery
    forgot_title: "Восстановление пароля",
    forgot_intro: "Введите e-mail, указанный при заключении договора. Мы отправим на него ссылку для восстановления доступа к кабинету.",
    send: "Отправить",
    forgot_sent: "Если этот e-mail зарегистрирован в кабинете, на него отправлена ссылка для восстановления пароля. Ссылка действует 1 час. Если письма нет, проверьте папку «Спам».",
    email_required: "Введите e-mail.",
    email_invalid: "Введите e-mail в виде name@example.by.",
    back_to_login: "Вернуться ко входу",
    reset_title: "Новый пароль к кабинету",
    reset_intro: "Введите новый пароль и повторите его.",
    reset_invalid_title: "Ссылка недействительна",
    reset_invalid: "Эта ссылка для восстановления пароля не работает: она устарела (ссылка действует 1 час), уже была использована или заменена более новой.",
    ask_again: "Запросить новую ссылку",
    password_reset_done: "Пароль изменён. Войдите с новым паролем.",
    reset_mail_subject: "МТБанк mPOS: восстановление пароля",
    reset_mail_text: "Здравствуйте!\n\nДля этого адреса запрошено восстановление пароля к личному кабинету торговца «МТБанк mPOS».\nЧтобы задать новый пароль, откройте ссылку (она действует 1 час и только один раз):\n\n{link}\n\nЕсли вы не запрашивали восстановление, просто удалите это письмо: ваш пароль останется прежним.\n",
    // Device notices
    notice_reader: "Терминал",
    notice_blocked: " заблокирован: приложение на нём не проведёт новых операций.",
    notice_unblocked: " снова активен.",
    notice_app_password: ": пароль приложения изменён, в приложение нужно войти заново.",
    // Home summary
    home_today: "Сегодня",
    home_payments: "Оплаты",
    home_refunds: "Возвраты",
    home_net: "Итого",
    home_nothing_today: "Сегодня операций ещё не было.",
    home_readers: "Терминалы",
    home_active: "Активны",
    home_blocked: "Заблокированы",
    home_to_history: "История платежей →",
    home_to_devices: "Устройства →",
    forgot_again: "Письмо не пришло? Запросить ссылку ещё раз",
};

const EN: Texts = Texts {
    product: "MTBank mPOS",
    login_title: "Merchant cabinet sign-in",
    email: "E-mail",
    password: "Password",
    sign_in: "Sign in",
    forgot: "Forgot your password?",
    login_failed: "Wrong e-mail or password.",
    locked: "Too many failed sign-in attempts. Sign-in for this e-mail is locked for 15 minutes.",
    address_throttled: "Too many failed sign-in attempts from your address. Try again in",
    seconds: "s",
    nav_home: "Home",
    nav_devices: "Devices",
    nav_history: "Payment history",
    nav_password: "Change password",
    sign_out: "Sign out",
    app_title: "Mobile app",
    app_text: "The app for mobile devices running Android 4.1 or later.",
    app_download: "Download the app",
    other_language: "Русский",
    other_lang_code: "ru",
    devices_title: "Devices",
    serial: "Card reader number",
    state: "State",
    last_sign_on: "Last sign-on",
    actions: "Actions",
    active: "Active",
    blocked: "Blocked",
    never: "never",
    password_locked_until: "Password sign-on locked until",
    block_it: "Block this card reader",
    unblock_it: "Unblock this card reader",
    change_password: "Change password",
    no_devices: "You have no card readers yet.",
    device_password_title: "Mobile app password",
    new_password: "New password",
    new_password_repeat: "Repeat the new password",
    save: "Save",
    cancel: "Cancel",
    password_too_short: "The password needs at least 10 characters.",
    passwords_differ: "The passwords do not match.",
    password_not_ascii: "Use Latin letters, digits and signs, without spaces at the ends.",
    password_too_long: "The password can have at most 999 characters.",
    password_hint: "At least 10 characters. The app on this card reader will have to sign in again.",
    password_title: "Change the cabinet password",
    current_password: "Current password",
    wrong_current: "The current password is wrong.",
    password_changed: "The password is changed. Your other cabinet sessions have ended.",
    cabinet_password_hint: "At least 10 characters.",
    // Password recovery
    forgot_title: "Password recovery",
    forgot_intro: "Enter the e-mail given in your contract with the bank. We will send it a link to regain access to the cabinet.",
    send: "Send",
    forgot_sent: "If this e-mail is registered with the cabinet, a password recovery link has been sent to it. The link is valid for 1 hour. If no message arrives, look in the spam folder.",
    email_required: "Enter your e-mail.",
    email_invalid: "Enter an e-mail such as name@example.by.",
    back_to_login: "Back to sign-in",
    reset_title: "New cabinet password",
    reset_intro: "Enter a new password and repeat it.",
    reset_invalid_title: "This link does not work",
    reset_invalid: "This password recovery link does not work: it has expired (links are valid for 1 hour), has been used already, or a newer one replaced it.",
    ask_again: "Ask for a new link",
    password_reset_done: "Your password is changed. Sign in with the new one.",
    reset_mail_subject: "MTBank mPOS: password recovery",
    reset_mail_text: "Hello,\n\nSomeone asked to recover the password of the MTBank mPOS merchant cabinet for this address.\nTo set a new password, open the link (valid for 1 hour, once):\n\n{link}\n\nIf it was not you, delete this message: your password stays as it is.\n",
    // Device notices
    notice_reader: "Card reader",
    notice_blocked: " is blocked: the app on it cannot make new transactions.",
    notice_unblocked: " is active again.",
    notice_app_password: ": the app password is changed; the app has to sign in again.",
    // Home summary
    home_today: "Today",
    home_payments: "Payments",
    home_refunds: "Refunds",
    home_net: "Net",
    home_nothing_today: "No transactions yet today.",
    home_readers: "Card readers",
    home_active: "Active",
    home_blocked: "Blocked",
    home_to_history: "Payment history →",
    home_to_devices: "Devices →",
    forgot_again: "No message? Ask for the link again",
};
