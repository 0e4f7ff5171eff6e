//! The chart of the net per business day, drawn on the server as SVG: no
//! script, no external asset, readable by screen readers (a title, a
//! description and a `<title>` per bar) and styled by the stylesheet.
//!
//! Every text in the SVG is built here from dates and formatted amounts, and
//! escaped all the same, so the markup can be embedded in the page as is.

use jiff::civil::Date;
use std::fmt::Write;

/// One day of the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartDay {
    /// The business day.
    pub day: Date,
    /// Payments less refunds, minor units.
    pub net_minor: i64,
    /// The net as shown to people (`1 234,50 BYN`).
    pub label: String,
}

/// Drawing area, in the SVG's own units; the SVG scales to its box.
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 8.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 34.0;

/// The SVG of `days` (oldest first), titled `title` and described by
/// `description`; `id` makes its ARIA references unique in the page.
pub fn net_per_day(days: &[ChartDay], title: &str, description: &str, id: &str) -> String {
    let mut svg = String::with_capacity(256 + days.len() * 160);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    let max = days.iter().map(|d| d.net_minor).max().unwrap_or(0).max(0);
    let min = days.iter().map(|d| d.net_minor).min().unwrap_or(0).min(0);
    let span = (max - min).max(1) as f64;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y_of = |value: i64| TOP + (max - value) as f64 / span * plot_height;
    let zero = y_of(0);
    let slot = (WIDTH - LEFT - RIGHT) / days.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    // Label at most ~12 days along the axis, always the first and the last.
    let every = days.len().div_ceil(12).max(1);
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = y_of(day.net_minor);
        let (top, height) = if day.net_minor >= 0 {
            (y, zero - y)
        } else {
            (zero, y - zero)
        };
        let class = if day.net_minor < 0 { "bar neg" } else { "bar" };
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x:.1}" y="{top:.1}" width="{bar:.1}" height="{:.1}"><title>{}: {}</title></rect>"#,
            height.max(if day.net_minor == 0 { 0.0 } else { 1.0 }),
            day.day.strftime("%d.%m.%Y"),
            escape(&day.label)
        );
        if i % every == 0 || i + 1 == days.len() {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                HEIGHT - 10.0,
                day.day.strftime("%d.%m")
            );
        }
    }
    // The scale: the best day's net over the plot, the worst's under it.
    let extreme = |pick: fn(&&ChartDay, &&ChartDay) -> std::cmp::Ordering| days.iter().max_by(pick);
    if let Some(best) = extreme(|a, b| a.net_minor.cmp(&b.net_minor)).filter(|d| d.net_minor > 0) {
        let _ = write!(
            svg,
            r#"<text class="axis scale" x="{LEFT}" y="{:.1}">{}</text>"#,
            TOP - 10.0,
            escape(&best.label)
        );
    }
    if let Some(worst) = extreme(|a, b| b.net_minor.cmp(&a.net_minor)).filter(|d| d.net_minor < 0) {
        let _ = write!(
            svg,
            r#"<text class="axis scale" x="{LEFT}" y="{:.1}">{}</text>"#,
            HEIGHT - BOTTOM + 16.0,
            escape(&worst.label)
        );
    }
    let _ = write!(
        svg,
        r#"<line class="zero" x1="{LEFT}" x2="{:.1}" y1="{zero:.1}" y2="{zero:.1}"/></svg>"#,
        WIDTH - RIGHT
    );
    svg
}

/// Escapes text for SVG (XML) content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn day(d: i8, net: i64) -> ChartDay {
        ChartDay {
            day: date(2026, 11, d),
            net_minor: net,
            label: format!("{net} <BYN>"),
        }
    }

    #[test]
    fn one_bar_per_day_up_for_net_income_down_for_net_refunds() {
        let svg = net_per_day(
            &[day(23, 1000), day(24, 0), day(25, -500)],
            "T & t",
            "D",
            "c1",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(svg.matches("class=\"bar neg\"").count(), 1);
        assert!(svg.contains("<title id=\"c1-title\">T &amp; t</title>"));
        assert!(svg.contains("25.11.2026: -500 &lt;BYN&gt;"), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn an_empty_or_flat_period_still_draws() {
        for days in [vec![], vec![day(25, 0)], vec![day(24, 0), day(25, 0)]] {
            let svg = net_per_day(&days, "t", "d", "c");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn long_periods_label_about_a_dozen_days() {
        let days: Vec<ChartDay> = (0..366)
            .map(|i| ChartDay {
                day: date(2026, 1, 1)
                    .checked_add(jiff::Span::new().days(i))
                    .unwrap(),
                net_minor: i64::from(i) * 100,
                label: String::new(),
            })
            .collect();
        let svg = net_per_day(&days, "t", "d", "c");
        assert_eq!(svg.matches("<rect").count(), 366);
        assert!(svg.matches("<text").count() <= 14);
    }
}
