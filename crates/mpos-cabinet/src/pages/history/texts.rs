//! The payment history's texts, Russian and English: kept beside the page
//! (rather than in `i18n.rs`) because no other page uses them.

use crate::i18n::Lang;

/// Every text of the history page and its CSV.
#[derive(Debug)]
pub struct HistoryTexts {
    /// Page title.
    pub title: &'static str,
    /// Period choice.
    pub period: &'static str,
    /// Period button.
    pub week: &'static str,
    /// Period button.
    pub month: &'static str,
    /// Period button.
    pub custom: &'static str,
    /// Date field.
    pub from: &'static str,
    /// Date field.
    pub to: &'static str,
    /// Filter field.
    pub device: &'static str,
    /// Filter choice: no device filter.
    pub all_devices: &'static str,
    /// Filter field.
    pub vt_id: &'static str,
    /// Filter choice: no terminal filter.
    pub all_terminals: &'static str,
    /// Filter field.
    pub vt_name: &'static str,
    /// Hint under the name filter.
    pub vt_name_hint: &'static str,
    /// Submit button.
    pub show: &'static str,
    /// Link that clears the filters.
    pub reset: &'static str,
    /// View switch.
    pub view: &'static str,
    /// View switch.
    pub by_days: &'static str,
    /// View switch.
    pub by_transactions: &'static str,
    /// CSV link.
    pub download_csv: &'static str,
    /// Column.
    pub business_day: &'static str,
    /// Column.
    pub vt: &'static str,
    /// Column.
    pub vt_name_column: &'static str,
    /// Column group.
    pub payments: &'static str,
    /// Column group.
    pub refunds: &'static str,
    /// Column: how many.
    pub count: &'static str,
    /// Column: how much.
    pub sum: &'static str,
    /// Column.
    pub net: &'static str,
    /// Column.
    pub currency: &'static str,
    /// Footer row.
    pub total: &'static str,
    /// Column.
    pub date_time: &'static str,
    /// Column.
    pub kind: &'static str,
    /// Column.
    pub card: &'static str,
    /// Column.
    pub amount: &'static str,
    /// Column.
    pub result: &'static str,
    /// Column.
    pub response_code: &'static str,
    /// Column.
    pub reversed: &'static str,
    /// Column.
    pub rrn: &'static str,
    /// Column.
    pub auth_code: &'static str,
    /// Transaction type.
    pub purchase: &'static str,
    /// Transaction type.
    pub refund: &'static str,
    /// Mark of a declined transaction.
    pub declined: &'static str,
    /// Mark of a reversed transaction.
    pub reversed_mark: &'static str,
    /// Yes, in the CSV.
    pub yes: &'static str,
    /// No, in the CSV.
    pub no: &'static str,
    /// Nothing in the period.
    pub empty: &'static str,
    /// Chart title.
    pub chart_title: &'static str,
    /// Chart description, before the period.
    pub chart_description: &'static str,
    /// Summary line: the period shown.
    pub period_shown: &'static str,
    /// Pagination.
    pub previous: &'static str,
    /// Pagination.
    pub next: &'static str,
    /// Pagination: "page N of M".
    pub page_of: &'static str,
    /// Pagination label.
    pub pages: &'static str,
    /// Count of transactions found.
    pub found: &'static str,
    /// Error: a date that is not a date; names every form the field takes.
    /// (The ISO form's hyphens are non-breaking, U+2011, here and in the
    /// hint: a line never ends in «ГГГГ-ММ-».)
    pub bad_date: &'static str,
    /// The date fields' placeholder: the form a browser without a date
    /// picker shows in its empty text box.
    pub date_placeholder: &'static str,
    /// The hint under each date field, the accepted forms, shown in every
    /// browser (a placeholder vanishes once typing starts, and a picker
    /// hides it).
    pub date_hint: &'static str,
    /// Error: custom period without its dates.
    pub dates_needed: &'static str,
    /// Error: from after to.
    pub from_after_to: &'static str,
    /// Error: a period too long.
    pub too_long: &'static str,
    /// Error: an unknown period or view.
    pub bad_choice: &'static str,
    /// Explains that only approved, unreversed transactions count.
    pub days_note: &'static str,
}

/// The texts of `lang`.
pub fn texts(lang: Lang) -> &'static HistoryTexts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

const RU: HistoryTexts = HistoryTexts {
    title: "История платежей",
    period: "Период",
    week: "За неделю",
    month: "За месяц",
    custom: "За указанный период",
    from: "С",
    to: "По",
    device: "Терминал",
    all_devices: "Все терминалы",
    vt_id: "ID виртуального терминала",
    all_terminals: "Все",
    vt_name: "Имя виртуального терминала",
    vt_name_hint: "Часть имени, без учёта регистра.",
    show: "Показать",
    reset: "Сбросить фильтры",
    view: "Отчёт",
    by_days: "По бизнес-дням",
    by_transactions: "По транзакциям",
    download_csv: "Скачать CSV",
    business_day: "Бизнес-день",
    vt: "ID вирт. терминала",
    vt_name_column: "Виртуальный терминал",
    payments: "Оплаты",
    refunds: "Возвраты",
    count: "шт.",
    sum: "сумма",
    net: "Итого",
    currency: "Валюта",
    total: "Всего за период",
    date_time: "Дата и время",
    kind: "Тип",
    card: "Карта",
    amount: "Сумма",
    result: "Результат",
    response_code: "Код ответа",
    reversed: "Отменена",
    rrn: "RRN",
    auth_code: "Код авторизации",
    purchase: "Оплата",
    refund: "Возврат",
    declined: "Отклонена",
    reversed_mark: "Отменена",
    yes: "да",
    no: "нет",
    empty: "За этот период операций нет.",
    chart_title: "Итог по бизнес-дням",
    chart_description: "Оплаты минус возвраты за каждый бизнес-день периода",
    period_shown: "Период",
    previous: "← Назад",
    next: "Вперёд →",
    page_of: "из",
    pages: "Страницы",
    found: "Операций найдено",
    bad_date: "Дата должна быть в виде ДД.ММ.ГГГГ, Д.М.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД, например 25.11.2026.",
    date_placeholder: "ДД.ММ.ГГГГ",
    date_hint: "ДД.ММ.ГГГГ или ГГГГ\u{2011}ММ\u{2011}ДД",
    dates_needed: "Укажите обе даты периода.",
    from_after_to: "Дата начала позже даты окончания.",
    too_long: "Период не может быть длиннее 366 дней.",
    bad_choice: "Такого варианта нет; выберите из списка.",
    days_note: "Учитываются только одобренные и не отменённые операции.",
};

const EN: HistoryTexts = HistoryTexts {
    title: "Payment history",
    period: "Period",
    week: "Last week",
    month: "Last month",
    custom: "Custom period",
    from: "From",
    to: "To",
    device: "Card reader",
    all_devices: "All card readers",
    vt_id: "Virtual terminal ID",
    all_terminals: "All",
    vt_name: "Virtual terminal name",
    vt_name_hint: "Part of the name, any case.",
    show: "Show",
    reset: "Clear filters",
    view: "Report",
    by_days: "By business day",
    by_transactions: "By transaction",
    download_csv: "Download CSV",
    business_day: "Business day",
    vt: "Virtual terminal ID",
    vt_name_column: "Virtual terminal",
    payments: "Payments",
    refunds: "Refunds",
    count: "count",
    sum: "sum",
    net: "Net",
    currency: "Currency",
    total: "Period total",
    date_time: "Date and time",
    kind: "Type",
    card: "Card",
    amount: "Amount",
    result: "Result",
    response_code: "Response code",
    reversed: "Reversed",
    rrn: "RRN",
    auth_code: "Authorization code",
    purchase: "Payment",
    refund: "Refund",
    declined: "Declined",
    reversed_mark: "Reversed",
    yes: "yes",
    no: "no",
    empty: "No transactions in this period.",
    chart_title: "Net per business day",
    chart_description: "Payments less refunds for each business day of the period",
    period_shown: "Period",
    previous: "← Previous",
    next: "Next →",
    page_of: "of",
    pages: "Pages",
    found: "Transactions found",
    bad_date: "A date is written DD.MM.YYYY, D.M.YYYY or YYYY\u{2011}MM\u{2011}DD, for example 25.11.2026.",
    date_placeholder: "DD.MM.YYYY",
    date_hint: "DD.MM.YYYY or YYYY\u{2011}MM\u{2011}DD",
    dates_needed: "Give both dates of the period.",
    from_after_to: "The start date is after the end date.",
    too_long: "A period can be at most 366 days long.",
    bad_choice: "There is no such choice; pick one from the list.",
    days_note: "Only approved transactions that were not reversed count.",
};
