//! Bar charts drawn on the server as SVG (no JavaScript): the template draws the rectangles this
//! module lays out, so every figure is also in the page as text for screen readers.
use chrono::NaiveDate;

/// The drawing area, in SVG user units.
const WIDTH: i64 = 600;
const HEIGHT: i64 = 160;
const LABEL_EVERY_DAYS: usize = 7;

pub struct BarChart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    /// The top of the scale, as text (e.g. yuan).
    pub max_label: String,
    /// Every seventh day's date under its bar.
    pub ticks: Vec<Tick>,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// Shown on hover and read by screen readers: `2026-11-20: 1,234.56`.
    pub title: String,
}

pub struct Tick {
    pub x: i64,
    pub label: String,
}

impl BarChart {
    /// One bar per day, scaled to the largest value; `format` writes a value as text.
    pub fn daily(days: &[(NaiveDate, i64)], format: impl Fn(i64) -> String) -> BarChart {
        let max = days.iter().map(|(_, value)| *value).max().unwrap_or(0).max(1);
        let slot = WIDTH / i64::try_from(days.len().max(1)).unwrap_or(1);
        let bar_width = (slot - 2).max(1);
        let bars = days
            .iter()
            .zip(0_i64..)
            .map(|((day, value), index)| {
                let height = scaled(*value, max);
                Bar {
                    x: index * slot + 1,
                    y: HEIGHT - height,
                    width: bar_width,
                    height,
                    title: format!("{}: {}", day.format("%Y-%m-%d"), format(*value)),
                }
            })
            .collect();
        let ticks = days
            .iter()
            .zip(0_i64..)
            .step_by(LABEL_EVERY_DAYS)
            .map(|((day, _), index)| Tick { x: index * slot + 1, label: day.format("%m-%d").to_string() })
            .collect();
        BarChart { width: WIDTH, height: HEIGHT, bars, max_label: format(max), ticks }
    }
}

/// A value's bar height; negative values (a day of refunds) draw as nothing.
fn scaled(value: i64, max: i64) -> i64 {
    let value = i128::from(value.max(0));
    i64::try_from(value * i128::from(HEIGHT) / i128::from(max)).unwrap_or(HEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).expect("date")
    }

    #[test]
    fn bars_scale_to_the_largest_day() {
        let chart = BarChart::daily(&[(day(1), 50), (day(2), 100), (day(3), -5)], |v| v.to_string());
        let heights: Vec<i64> = chart.bars.iter().map(|bar| bar.height).collect();
        assert_eq!(heights, [HEIGHT / 2, HEIGHT, 0]);
        assert!(chart.bars.iter().all(|bar| bar.y + bar.height == HEIGHT));
        assert_eq!(chart.bars[1].title, "2026-11-02: 100");
        assert_eq!(chart.max_label, "100");
        assert_eq!(chart.ticks.len(), 1);
    }

    #[test]
    fn an_empty_or_flat_chart_draws_nothing_tall() {
        assert!(BarChart::daily(&[], |v| v.to_string()).bars.is_empty());
        let chart = BarChart::daily(&[(day(1), 0)], |v| v.to_string());
        assert_eq!(chart.bars[0].height, 0);
        assert_eq!(BarChart::daily(&[(day(1), i64::MAX)], |v| v.to_string()).bars[0].height, HEIGHT);
    }
}
