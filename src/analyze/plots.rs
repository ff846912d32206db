//! The report's charts, drawn with plotters into SVG text (no files): one
//! line-chart function for any named (x, y) series, so per-run and
//! cross-run pages share it, one grouped-bar function and one scatter
//! function, with dashed guides (a prediction, y = x) on either. Sizes and
//! fonts are set here so every chart reads at 900x500; [`grid`] lays charts
//! out side by side. Lines are told apart by colour and by dash pattern, so
//! two series that coincide still both show. The space-time diagram is
//! drawn by hand in [`super::spacetime`].

use std::error::Error;
use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Analysis;
use super::drift::Drift;
use super::per_vm::{VmSeries, VmStats, as_f64};

/// A named line: (x, y) points in x order.
pub type Series = (String, Vec<(f64, f64)>);

/// Width and height of every chart, pixels.
pub const SIZE: (u32, u32) = (900, 500);
const FONT: &str = "sans-serif";
/// The legend's width, pixels, at least; wider for long names.
const LEGEND_W: u32 = 150;
/// A generous width of one legend character at its font size, pixels.
const LEGEND_CHAR_W: u32 = 10;
/// Most points drawn per line: more are thinned to each column's extremes.
const MAX_POINTS: usize = 2000;
/// Matplotlib's tab10: distinct, and familiar to readers of plots.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`th series.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Dash patterns of the data lines, by series: solid, dashed, dotted,
/// dash-dot. With the ten colours, 40 series look different, and a dashed
/// line over a solid one lets the solid one show through its gaps.
const DASHES: [&str; 4] = ["", "9 5", "2 4", "12 4 2 4"];
/// The dash of a guide (a prediction, the line y = x).
const GUIDE_DASH: &str = "6 4";
/// Grey, for guides that belong to no series.
pub const GREY: RGBColor = RGBColor(90, 90, 90);

/// plotters writes no dash patterns, so a dashed line is drawn with a
/// placeholder stroke width (one of these codes) that [`dashed`] rewrites
/// into its real width and a `stroke-dasharray`: (code, width, dashes).
const DASH_CODES: [(u32, u32, &str); 8] = [
    (41, 2, DASHES[1]),
    (42, 2, DASHES[2]),
    (43, 2, DASHES[3]),
    (51, 3, DASHES[1]),
    (52, 3, DASHES[2]),
    (53, 3, DASHES[3]),
    (60, 2, GUIDE_DASH),
    (61, 3, GUIDE_DASH),
];
const GUIDE_CODE: u32 = 60;
const GUIDE_SWATCH_CODE: u32 = 61;

/// The stroke width to draw data series `i` with (a code when dashed).
fn series_width(i: usize) -> u32 {
    match i % DASHES.len() {
        0 => 2,
        d => 40 + d as u32,
    }
}

/// The stroke width of series `i`'s legend swatch (a code when dashed).
fn swatch_width(i: usize) -> u32 {
    match i % DASHES.len() {
        0 => 3,
        d => 50 + d as u32,
    }
}

/// Rewrites the placeholder widths (`DASH_CODES`) into real widths and
/// dash patterns.
pub fn dashed(svg: &str) -> String {
    let mut out = svg.to_string();
    for (code, width, dash) in DASH_CODES {
        out = out.replace(
            &format!("stroke-width=\"{code}\""),
            &format!("stroke-width=\"{width}\" stroke-dasharray=\"{dash}\""),
        );
    }
    out
}

/// A straight reference drawn dashed over a chart, in its own legend entry:
/// a prediction, the line y = x, a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Guide {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
}

/// How a set of scatter points is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// An open circle (SVG `<circle>` with no fill).
    Ring,
    /// A filled triangle (SVG `<polygon>`).
    Triangle,
}

/// A named set of scatter points, all marked alike.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub mark: Mark,
    pub color: RGBColor,
}

/// What a legend entry shows beside its name.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// Data series `i`: its colour and dash.
    Line(usize),
    /// A guide in this colour.
    Guide(RGBColor),
    /// Bar group `i`: a filled square of its colour.
    Bar(usize),
    Mark(Mark, RGBColor),
}

/// A chart's title and axis titles (with units).
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// One SVG of the report.
#[derive(Debug, Clone)]
pub struct Plot {
    /// File name in the report folder, e.g. `clock.svg`.
    pub file: &'static str,
    pub title: String,
    /// One sentence on how to read it.
    pub about: &'static str,
    pub svg: String,
}

type DrawResult = Result<(), Box<dyn Error>>;

/// Runs a drawing into a fresh SVG string; a drawing error (none is
/// expected from a string backend) becomes a chart that says so.
fn render(draw: impl FnOnce(&mut String) -> DrawResult) -> String {
    let mut buf = String::new();
    match draw(&mut buf) {
        Ok(()) => dashed(&buf),
        Err(e) => format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"60\"><text x=\"10\" y=\"30\">chart failed: {}</text></svg>",
            crate::report::markup::escape_xml(&e.to_string())
        ),
    }
}

/// A line chart of `series`, each in its colour with a legend at the right
/// (none for a single series). `steps` draws each value held until the next
/// point, as clocks and queues are.
pub fn line_chart(axes: &Axes, series: &[Series], steps: bool) -> String {
    line_chart_with(axes, series, &[], steps, None)
}

/// [`line_chart`] with `guides` drawn dashed over the series, and the y axis
/// up to `y_top` when given (charts meant to be read side by side share
/// one), else up to the highest point with a little head room.
pub fn line_chart_with(
    axes: &Axes,
    series: &[Series],
    guides: &[Guide],
    steps: bool,
    y_top: Option<f64>,
) -> String {
    render(|buf| draw_lines(buf, axes, series, guides, steps, y_top))
}

/// Logical clock against wall time, one line per series (per VM, or per run).
pub fn clock_vs_time(title: &str, series: &[Series]) -> String {
    let axes = Axes {
        title,
        x: "wall time since start (s)",
        y: "logical clock (ticks of the Lamport clock)",
    };
    line_chart(&axes, series, true)
}

/// Queue length against wall time, one line per VM.
pub fn queue_vs_time(title: &str, series: &[Series]) -> String {
    let axes = Axes {
        title,
        x: "wall time since start (s)",
        y: "messages waiting in the queue",
    };
    line_chart(&axes, series, true)
}

/// Drift (max - min clock) against wall time, with its least-squares line.
pub fn drift_vs_time(title: &str, drift: &Drift) -> String {
    let points = as_f64(&drift.series);
    let mut series = vec![("drift".to_string(), points.clone())];
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
        let (mx, my) = (mean(&xs), mean(&ys));
        let b = drift.growth_per_min / 60.0;
        let fit = |x: f64| my + b * (x - mx);
        let label = format!("fit: {:+.1}/min", drift.growth_per_min);
        series.push((label, vec![(first.0, fit(first.0)), (last.0, fit(last.0))]));
    }
    let axes = Axes {
        title,
        x: "wall time since start (s)",
        y: "drift: max - min logical clock",
    };
    line_chart(&axes, &series, false)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled chart on `area` with axis titles; `y_labels` at most, and
/// numbered x ticks unless `categories` (then the caller labels them).
fn chart_on<'a, 'b>(
    area: &'a Area<'b>,
    axes: &Axes,
    (xr, yr): (Range<f64>, Range<f64>),
    y_labels: usize,
    categories: bool,
) -> Result<Chart<'a, 'b>, Box<dyn Error>> {
    let mut chart = ChartBuilder::on(area)
        .caption(axes.title, (FONT, 24))
        .margin(14)
        .x_label_area_size(if categories { 70 } else { 60 })
        .y_label_area_size(80)
        .build_cartesian_2d(xr, yr)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(axes.x)
        .y_desc(axes.y)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .y_labels(y_labels)
        .y_label_formatter(&label)
        .x_label_formatter(&label);
    if categories {
        mesh.disable_x_mesh().x_labels(0);
    }
    mesh.draw()?;
    Ok(chart)
}

fn draw_lines(
    buf: &mut String,
    axes: &Axes,
    series: &[Series],
    guides: &[Guide],
    steps: bool,
    y_top: Option<f64>,
) -> DrawResult {
    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut legend: Vec<(&str, Swatch)> = series
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), Swatch::Line(i)))
        .collect();
    legend.extend(
        guides
            .iter()
            .map(|g| (g.name.as_str(), Swatch::Guide(g.color))),
    );
    let area = with_legend(&root, &legend)?;
    let mut all: Vec<Series> = series.to_vec();
    all.extend(guides.iter().map(|g| (g.name.clone(), g.points.clone())));
    let (xr, yr) = ranges(&all);
    let yr = y_top.filter(|t| *t > 0.0).map_or(yr, |t| 0.0..t);
    // Whole-number data (clocks, queues) gets whole-number labels only.
    let whole = series
        .iter()
        .flat_map(|(_, p)| p)
        .all(|q| q.1.fract() == 0.0);
    let y_labels = if whole {
        (yr.end as usize + 1).clamp(2, 10)
    } else {
        10
    };
    let mut chart = chart_on(&area, axes, (xr, yr), y_labels, false)?;
    for (i, (_, points)) in series.iter().enumerate() {
        let points = if steps { held(points) } else { points.clone() };
        let points = thin(&points, MAX_POINTS / 2);
        let points = if steps { stepped(&points) } else { points };
        let style = color(i).stroke_width(series_width(i));
        chart.draw_series(LineSeries::new(points, style))?;
    }
    draw_guides(&mut chart, guides)?;
    root.present()?;
    Ok(())
}

fn draw_guides(chart: &mut Chart, guides: &[Guide]) -> DrawResult {
    for g in guides {
        let style = g.color.stroke_width(GUIDE_CODE);
        chart.draw_series(LineSeries::new(g.points.iter().copied(), style))?;
    }
    Ok(())
}

/// A scatter chart of `sets` over the ranges given, with `guides` drawn
/// dashed, and a legend naming both.
pub fn scatter(
    axes: &Axes,
    sets: &[Points],
    guides: &[Guide],
    ranges: (Range<f64>, Range<f64>),
) -> String {
    render(|buf| draw_scatter(buf, axes, sets, guides, ranges))
}

fn draw_scatter(
    buf: &mut String,
    axes: &Axes,
    sets: &[Points],
    guides: &[Guide],
    ranges: (Range<f64>, Range<f64>),
) -> DrawResult {
    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut legend: Vec<(&str, Swatch)> = sets
        .iter()
        .map(|s| (s.name.as_str(), Swatch::Mark(s.mark, s.color)))
        .collect();
    legend.extend(
        guides
            .iter()
            .map(|g| (g.name.as_str(), Swatch::Guide(g.color))),
    );
    let area = with_legend(&root, &legend)?;
    let mut chart = chart_on(&area, axes, ranges, 10, false)?;
    draw_guides(&mut chart, guides)?;
    for set in sets {
        let c = set.color;
        match set.mark {
            Mark::Ring => chart.draw_series(
                set.points
                    .iter()
                    .map(|&p| Circle::new(p, MARK_SIZE, c.stroke_width(2))),
            )?,
            Mark::Triangle => chart.draw_series(
                set.points
                    .iter()
                    .map(|&p| TriangleMarker::new(p, MARK_SIZE + 1, c.filled())),
            )?,
        };
    }
    root.present()?;
    Ok(())
}

/// Radius of a scatter mark, pixels.
const MARK_SIZE: i32 = 6;

/// Lays SVG charts (each [`SIZE`]) out in a grid of `columns`, as one SVG.
pub fn grid(charts: &[String], columns: usize) -> String {
    let (w, h) = (SIZE.0 as usize, SIZE.1 as usize);
    let columns = columns.max(1);
    let rows = charts.len().div_ceil(columns);
    let width = w * columns.min(charts.len());
    let mut out = format!(
        "<svg width=\"{width}\" height=\"{}\" viewBox=\"0 0 {width} {}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        h * rows,
        h * rows
    );
    for (i, chart) in charts.iter().enumerate() {
        let (x, y) = ((i % columns) * w, (i / columns) * h);
        out.push_str(&chart.replacen("<svg ", &format!("<svg x=\"{x}\" y=\"{y}\" "), 1));
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}

/// The part of `root` left for the chart, after drawing a legend of
/// `entries` at the right (for two entries or more).
fn with_legend<'a>(
    root: &Area<'a>,
    entries: &[(&str, Swatch)],
) -> Result<Area<'a>, Box<dyn Error>> {
    if entries.len() < 2 {
        return Ok(root.clone());
    }
    let (chart, legend) = root.split_horizontally(SIZE.0 - legend_width(entries));
    let fits = ((SIZE.1 - 80) / 24) as usize;
    let style = TextStyle::from((FONT, 17).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, swatch)) in entries.iter().enumerate().take(fits) {
        let y = 70 + 24 * i as i32;
        draw_swatch(&legend, y, *swatch)?;
        legend.draw(&Text::new(name.to_string(), (28, y), style.clone()))?;
    }
    if entries.len() > fits {
        let more = format!("+ {} more", entries.len() - fits);
        legend.draw(&Text::new(more, (28, 70 + 24 * fits as i32), style))?;
    }
    Ok(chart)
}

/// Room for the swatch and the longest name (up to a third of the chart).
fn legend_width(entries: &[(&str, Swatch)]) -> u32 {
    let longest = entries.iter().map(|e| e.0.chars().count()).max();
    let text = longest.unwrap_or(0) as u32 * LEGEND_CHAR_W;
    (36 + text).clamp(LEGEND_W, SIZE.0 / 3)
}

fn draw_swatch(legend: &Area, y: i32, swatch: Swatch) -> DrawResult {
    let line = |c: RGBColor, w: u32| PathElement::new(vec![(0, y), (22, y)], c.stroke_width(w));
    match swatch {
        Swatch::Line(i) => legend.draw(&line(color(i), swatch_width(i)))?,
        Swatch::Guide(c) => legend.draw(&line(c, GUIDE_SWATCH_CODE))?,
        Swatch::Bar(i) => legend.draw(&Rectangle::new(
            [(4, y - 7), (18, y + 7)],
            color(i).filled(),
        ))?,
        Swatch::Mark(Mark::Ring, c) => {
            legend.draw(&Circle::new((11, y), MARK_SIZE, c.stroke_width(2)))?
        }
        Swatch::Mark(Mark::Triangle, c) => {
            legend.draw(&TriangleMarker::new((11, y), MARK_SIZE + 1, c.filled()))?
        }
    }
    Ok(())
}

/// Axis ranges covering every point: x from its least value (0 at most), y
/// from 0, with a little head room.
pub fn ranges(series: &[Series]) -> (Range<f64>, Range<f64>) {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let x0 = all().map(|p| p.0).fold(0.0, f64::min);
    let x1 = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let y1 = all().map(|p| p.1).fold(0.0, f64::max);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let y1 = if y1 > 0.0 { y1 * 1.05 } else { 1.0 };
    (x0..x1, 0.0..y1)
}

/// An axis label: integers without decimals, others with at most two.
fn label(v: &f64) -> String {
    short(*v)
}

fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// At most about `2 * columns` points: per column of x, the lowest and the
/// highest point, in x order, so spikes survive.
pub fn thin(points: &[(f64, f64)], columns: usize) -> Vec<(f64, f64)> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let span = last.0 - first.0;
    if points.len() <= 2 * columns || span.is_nan() || span <= 0.0 {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * columns + 2);
    let mut i = 0;
    while i < points.len() {
        let col = ((points[i].0 - first.0) / span * columns as f64) as usize;
        let mut j = i;
        let (mut lo, mut hi) = (i, i);
        while j < points.len() && ((points[j].0 - first.0) / span * columns as f64) as usize == col
        {
            lo = if points[j].1 < points[lo].1 { j } else { lo };
            hi = if points[j].1 > points[hi].1 { j } else { hi };
            j += 1;
        }
        out.push(points[lo.min(hi)]);
        if lo != hi {
            out.push(points[lo.max(hi)]);
        }
        i = j.max(i + 1);
    }
    out
}

/// The points a step chart needs: each point whose value differs from the
/// one before, and the last (a repeated value draws nothing new when every
/// value is held until the next point).
fn held(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for (i, &p) in points.iter().enumerate() {
        let repeats = out.last().is_some_and(|q| q.1 == p.1);
        if !repeats || i + 1 == points.len() {
            out.push(p);
        }
    }
    out
}

/// Each value held until the next point.
fn stepped(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(p);
    }
    out
}

/// A grouped bar chart: one group of bars per category (left to right), one
/// bar per named group in each, in the group's colour.
pub fn bar_chart(axes: &Axes, categories: &[String], groups: &[(String, Vec<f64>)]) -> String {
    render(|buf| draw_bars(buf, axes, categories, groups))
}

fn draw_bars(
    buf: &mut String,
    axes: &Axes,
    categories: &[String],
    groups: &[(String, Vec<f64>)],
) -> DrawResult {
    let root = SVGBackend::with_string(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let legend: Vec<(&str, Swatch)> = groups
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.as_str(), Swatch::Bar(i)))
        .collect();
    let area = with_legend(&root, &legend)?;
    let top = groups
        .iter()
        .flat_map(|(_, v)| v)
        .fold(0.0, |a: f64, &b| a.max(b));
    let ranges = (
        0.0..categories.len().max(1) as f64,
        0.0..top.max(0.5) * 1.08,
    );
    let mut chart = chart_on(&area, axes, ranges, 10, true)?;
    let width = 0.8 / groups.len().max(1) as f64;
    for (g, (_, values)) in groups.iter().enumerate() {
        let bars = values.iter().enumerate().map(|(c, &v)| {
            let x0 = c as f64 + 0.1 + g as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], color(g).filled())
        });
        chart.draw_series(bars)?;
    }
    let style = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    let every = categories.len().div_ceil(24).max(1);
    for (c, name) in categories.iter().enumerate().step_by(every) {
        let (x, y) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
        root.draw(&Text::new(name.clone(), (x, y + 8), style.clone()))?;
    }
    root.present()?;
    Ok(())
}

/// Jump-size bins: each size up to 8 on its own, then doubling ranges
/// (9-16, 17-32, ...) up to `max`. (low, high, label).
pub fn jump_bins(max: u64) -> Vec<(u64, u64, String)> {
    let mut bins: Vec<(u64, u64, String)> = (1..=max.clamp(3, 8))
        .map(|j| (j, j, j.to_string()))
        .collect();
    let mut low = 9;
    while low <= max {
        let high = (low - 1) * 2;
        bins.push((low, high, format!("{low}-{high}")));
        low = high + 1;
    }
    bins
}

/// Share of each VM's tick events (%) in each jump-size bin, one bar per VM.
pub fn jump_histogram(title: &str, per_vm: &[(String, Vec<(u64, u64)>)]) -> String {
    jump_histogram_of(title, per_vm, "share of the VM's tick events (%)")
}

/// Share of each group's tick events (%) in each jump-size bin, one bar per
/// group (a VM, or an experiment's VMs pooled): `counts` are (jump, events).
pub fn jump_histogram_of(title: &str, per_vm: &[(String, Vec<(u64, u64)>)], y: &str) -> String {
    let max = per_vm
        .iter()
        .flat_map(|(_, c)| c.iter().map(|&(j, _)| j))
        .max();
    let bins = jump_bins(max.unwrap_or(1));
    let groups: Vec<(String, Vec<f64>)> = per_vm
        .iter()
        .map(|(name, counts)| {
            let total: u64 = counts.iter().map(|&(_, c)| c).sum::<u64>().max(1);
            let share = |&(lo, hi, _): &(u64, u64, String)| {
                let n: u64 = counts
                    .iter()
                    .filter(|(j, _)| (lo..=hi).contains(j))
                    .map(|c| c.1)
                    .sum();
                100.0 * n as f64 / total as f64
            };
            (name.clone(), bins.iter().map(share).collect())
        })
        .collect();
    let axes = Axes {
        title,
        x: "clock jump from one tick event to the next (clock units)",
        y,
    };
    let labels: Vec<String> = bins.into_iter().map(|b| b.2).collect();
    bar_chart(&axes, &labels, &groups)
}

/// Internal, send and receive events per VM.
pub fn event_counts(title: &str, vms: &[VmStats]) -> String {
    let names: Vec<String> = vms.iter().map(|s| format!("VM {}", s.vm)).collect();
    let kind = |name: &str, f: fn(&VmStats) -> u64| {
        (name.to_string(), vms.iter().map(|s| f(s) as f64).collect())
    };
    let groups = vec![
        kind("internal", |s| s.internals),
        kind("send", |s| s.sends),
        kind("receive", |s| s.receives),
    ];
    let axes = Axes {
        title,
        x: "virtual machine",
        y: "events (count)",
    };
    bar_chart(&axes, &names, &groups)
}

/// Per VM, its mean staleness over the other VMs on the grid, named as in
/// the other charts.
fn staleness_series(a: &Analysis) -> Option<Vec<Series>> {
    let c = a.causal.as_ref()?;
    let s = c.staleness.as_ref()?;
    let name = |vm: u32| {
        let row = a.vms.iter().find(|s| s.vm == vm);
        row.map_or(format!("VM {vm}"), vm_label)
    };
    Some(
        c.vms
            .iter()
            .zip(&s.series)
            .map(|(&vm, points)| (name(vm), points.clone()))
            .collect(),
    )
}

/// Staleness (events behind, mean over the other VMs) against wall time.
pub fn staleness_vs_time(title: &str, series: &[Series]) -> String {
    let axes = Axes {
        title,
        x: "wall time since start (s)",
        y: "events behind, mean over the other VMs",
    };
    line_chart(&axes, series, false)
}

/// A VM's name in legends: `VM 2 (4/s)`, `VM 3 (1/s, died)`.
fn vm_label(s: &VmStats) -> String {
    let died = if s.stop.is_none() { ", died" } else { "" };
    format!("VM {} ({}/s{died})", s.vm, s.rate)
}

/// Every chart of the report, in reading order.
pub fn all(a: &Analysis) -> Vec<Plot> {
    let run = a
        .run
        .as_deref()
        .map(|r| format!(" (run {r})"))
        .unwrap_or_default();
    let named = |f: fn(&VmSeries) -> Vec<(f64, f64)>| -> Vec<Series> {
        a.vms
            .iter()
            .zip(&a.series)
            .map(|(s, v)| (vm_label(s), f(v)))
            .collect()
    };
    let mut plots = Vec::new();
    let mut add = |file, title: String, about, svg| {
        plots.push(Plot {
            file,
            title,
            about,
            svg,
        })
    };
    let t = format!("Logical clock vs wall time{run}");
    let svg = clock_vs_time(&t, &named(VmSeries::clock_points));
    add("clock.svg", t, ABOUT_CLOCK, svg);
    if let Some(d) = &a.drift {
        let t = format!("Clock drift across VMs{run}");
        add("drift.svg", t.clone(), ABOUT_DRIFT, drift_vs_time(&t, d));
    }
    let t = format!("Queue length vs wall time{run}");
    let svg = queue_vs_time(&t, &named(VmSeries::queue_points));
    add("queue.svg", t, ABOUT_QUEUE, svg);
    let jumps: Vec<_> = a
        .vms
        .iter()
        .map(|s| (vm_label(s), s.jump_counts.clone()))
        .collect();
    let t = format!("Clock jump sizes{run}");
    add(
        "jumps.svg",
        t.clone(),
        ABOUT_JUMPS,
        jump_histogram(&t, &jumps),
    );
    let t = format!("Events per VM{run}");
    add(
        "events.svg",
        t.clone(),
        ABOUT_EVENTS,
        event_counts(&t, &a.vms),
    );
    if let Some(series) = staleness_series(a) {
        let t = format!("Staleness of each VM's knowledge of the others{run}");
        let svg = staleness_vs_time(&t, &series);
        add("staleness.svg", t, ABOUT_STALENESS, svg);
    }
    let t = format!("Space-time diagram{run}");
    let svg = super::spacetime::svg::diagram(&a.space_time, &a.vms);
    add("spacetime.svg", t, ABOUT_SPACETIME, svg);
    plots
}

const ABOUT_CLOCK: &str = "Each VM's logical clock at each of its tick events. Slow VMs climb in jumps when they receive from fast ones.";
const ABOUT_DRIFT: &str = "The largest minus the smallest logical clock across VMs every 100 ms, with its least-squares line.";
const ABOUT_QUEUE: &str = "Messages waiting in each VM's network queue, as logged at its tick events. A queue that keeps growing means the VM receives faster than it ticks.";
const ABOUT_JUMPS: &str = "How far the clock moved from one tick event to the next, as a share of each VM's tick events. Jumps above 1 come from receives carrying a larger clock.";
const ABOUT_EVENTS: &str = "Tick events of each kind per VM.";
const ABOUT_STALENESS: &str = "For each VM i, every 100 ms: how many events the other VMs have made that i has not yet heard of (through any chain of messages), averaged over the other VMs.";
const ABOUT_SPACETIME: &str = "One lane per VM; each tick event is a mark labelled with its logical clock, each message an arrow from its send to its receive. Choose the window with --window START..END.";

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: usize) -> Vec<Series> {
        (0..n)
            .map(|i| {
                let points = (0..50)
                    .map(|k| (k as f64 / 10.0, (k * (i + 1)) as f64))
                    .collect();
                (format!("VM {}", i + 1), points)
            })
            .collect()
    }

    /// Whether plotters wrote `text` as one text element.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// The attributes of each polyline, up to its points.
    fn polylines(svg: &str) -> Vec<&str> {
        svg.split("<polyline")
            .skip(1)
            .map(|p| p.split(" points=").next().unwrap_or(""))
            .collect()
    }

    /// The data lines: 2 px wide and not a guide's dash (axes and ticks are
    /// 1 px, legend swatches 3 px).
    fn data_lines(svg: &str) -> usize {
        let guide = format!("stroke-dasharray=\"{GUIDE_DASH}\"");
        polylines(svg)
            .iter()
            .filter(|p| p.contains("stroke-width=\"2\"") && !p.contains(&guide))
            .count()
    }

    #[test]
    fn series_differ_in_dash_and_their_swatches_match() {
        let svg = clock_vs_time("four", &series(4));
        let lines = polylines(&svg);
        for (i, dash) in DASHES.iter().enumerate() {
            let with = |w: u32| {
                lines.iter().any(|p| {
                    p.contains(&format!("stroke-width=\"{w}\""))
                        && p.contains(&hex(color(i)))
                        && (dash.is_empty() != p.contains(&format!("stroke-dasharray=\"{dash}\"")))
                })
            };
            assert!(with(2) && with(3), "series {i}: {dash:?}");
        }
        assert!(
            !svg.contains("stroke-width=\"4"),
            "no placeholder width is left"
        );
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    #[test]
    fn guides_are_dashed_in_their_colour_and_counted_in_the_range() {
        let axes = Axes {
            title: "q",
            x: "x",
            y: "y",
        };
        let guide = Guide {
            name: "predicted".into(),
            points: vec![(0.0, 0.0), (4.9, 500.0)],
            color: color(0),
        };
        let svg = line_chart_with(&axes, &series(1), &[guide], true, None);
        let dash = format!("stroke-dasharray=\"{GUIDE_DASH}\"");
        assert_eq!(
            polylines(&svg).iter().filter(|p| p.contains(&dash)).count(),
            2
        );
        assert!(
            has_text(&svg, "predicted") && has_text(&svg, "500"),
            "the axis reaches the guide"
        );
        let capped = line_chart_with(&axes, &series(1), &[], false, Some(1000.0));
        assert!(has_text(&capped, "1000"), "a shared top is kept");
    }

    #[test]
    fn a_legend_widens_for_long_names_only() {
        let short = [("VM 1 (5/s)", Swatch::Line(0)), ("VM 2", Swatch::Line(1))];
        assert_eq!(legend_width(&short), LEGEND_W);
        let long = [("narrow-only: mean 1.20", Swatch::Bar(0))];
        assert_eq!(legend_width(&long), 36 + 22 * LEGEND_CHAR_W);
        let name = "x".repeat(200);
        let huge = [(name.as_str(), Swatch::Bar(0))];
        assert_eq!(legend_width(&huge), SIZE.0 / 3);
    }

    #[test]
    fn charts_are_laid_out_in_a_grid() {
        let chart = "<svg width=\"900\" height=\"500\" viewBox=\"0 0 900 500\" xmlns=\"http://www.w3.org/2000/svg\">\n</svg>\n".to_string();
        let g = grid(&[chart.clone(), chart.clone(), chart], 2);
        assert!(g.starts_with("<svg width=\"1800\" height=\"1000\""), "{g}");
        assert!(g.contains("<svg x=\"900\" y=\"0\" width=\"900\""));
        assert!(g.contains("<svg x=\"0\" y=\"500\" width=\"900\""));
        assert_eq!(g.matches("<svg").count(), 4);
    }

    #[test]
    fn a_line_chart_has_a_title_axes_a_line_and_a_legend_entry_per_series() {
        let svg = clock_vs_time("Clocks of run x", &series(3));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Clocks of run x"));
        assert!(svg.contains("wall time since start (s)") && svg.contains("logical clock"));
        assert_eq!(data_lines(&svg), 3);
        for name in ["VM 1", "VM 2", "VM 3"] {
            assert!(has_text(&svg, name), "{name}");
        }
        assert!(svg.contains("font-size=\"12.9"), "labels are set large");
    }

    #[test]
    fn one_series_needs_no_legend_and_empty_data_still_draws() {
        let svg = queue_vs_time("q", &series(1));
        assert!(!has_text(&svg, "VM 1"));
        let empty = line_chart(
            &Axes {
                title: "none",
                x: "x",
                y: "y",
            },
            &[],
            false,
        );
        assert!(empty.contains("<svg") && empty.contains("none"));
        let blank = clock_vs_time("blank", &[("VM 1".into(), vec![])]);
        assert!(blank.contains("<svg"));
    }

    #[test]
    fn drift_has_its_fit_line() {
        let drift = Drift {
            step_s: 0.1,
            series: vec![(0.0, 0), (0.1, 1), (0.2, 2)],
            mean: 1.0,
            max: 2,
            growth_per_min: 600.0,
            lag_mean: vec![],
        };
        let svg = drift_vs_time("Drift", &drift);
        assert_eq!(data_lines(&svg), 2);
        assert!(svg.contains("fit: +600.0/min"));
    }

    #[test]
    fn thinning_keeps_spikes_and_order() {
        let mut points: Vec<(f64, f64)> = (0..100_000).map(|k| (k as f64, 1.0)).collect();
        points[55_555].1 = 99.0;
        let thin = thin(&points, 500);
        assert!(thin.len() <= 1002, "{}", thin.len());
        assert!(thin.iter().any(|p| p.1 == 99.0));
        assert!(thin.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(super::thin(&points[..10], 500).len(), 10);
    }

    #[test]
    fn a_step_chart_keeps_only_the_changes_and_the_end() {
        let p = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 2.0), (4.0, 2.0)];
        assert_eq!(held(&p), vec![(0.0, 0.0), (3.0, 2.0), (4.0, 2.0)]);
        assert_eq!(held(&p[..1]), vec![(0.0, 0.0)]);
        assert!(held(&[]).is_empty());
        // The same path as all five points draw, held from 0 s to 3 s.
        let path = [(0.0, 0.0), (3.0, 0.0), (3.0, 2.0), (4.0, 2.0), (4.0, 2.0)];
        assert_eq!(stepped(&held(&p)), path);
    }

    #[test]
    fn steps_hold_each_value() {
        let s = stepped(&[(0.0, 1.0), (1.0, 3.0)]);
        assert_eq!(s, vec![(0.0, 1.0), (1.0, 1.0), (1.0, 3.0)]);
    }

    #[test]
    fn jump_bins_double_after_eight() {
        let labels = |max| jump_bins(max).into_iter().map(|b| b.2).collect::<Vec<_>>();
        assert_eq!(labels(1), ["1", "2", "3"]);
        assert_eq!(labels(9).last().map(String::as_str), Some("9-16"));
        assert_eq!(labels(40)[8..], ["9-16", "17-32", "33-64"]);
    }

    #[test]
    fn bar_charts_label_every_category() {
        let per_vm = vec![
            ("VM 1".to_string(), vec![(1, 8), (2, 2)]),
            ("VM 2".to_string(), vec![(1, 5), (12, 5)]),
        ];
        let svg = jump_histogram("Jumps", &per_vm);
        for label in ["1", "8", "9-16", "VM 2"] {
            assert!(has_text(&svg, label), "{label}");
        }
        assert!(svg.contains("share of the VM"));
        let vms = [VmStats {
            vm: 1,
            internals: 3,
            ..VmStats::default()
        }];
        let svg = event_counts("Events", &vms);
        assert!(has_text(&svg, "VM 1") && has_text(&svg, "receive"));
    }

    #[test]
    fn staleness_has_a_line_per_vm() {
        let mut h = crate::testkit::History::new(3);
        h.send(1, &[2], 0).receive(2, 1, 150).internal(3, 250);
        let a = crate::analyze::analyze(&h.logs(400), (0.0, 10.0));
        let plot = all(&a)
            .into_iter()
            .find(|p| p.file == "staleness.svg")
            .unwrap();
        assert_eq!(data_lines(&plot.svg), 3);
        assert!(has_text(&plot.svg, "VM 3 (10/s)") && plot.svg.contains("events behind"));
    }

    #[test]
    fn all_plots_of_an_analysis() {
        let a = Analysis {
            vms: vec![VmStats {
                vm: 1,
                ..VmStats::default()
            }],
            series: vec![VmSeries {
                vm: 1,
                clock: vec![(0.0, 1)],
                queue: vec![(0.0, 0)],
            }],
            ..Analysis::default()
        };
        let files: Vec<&str> = all(&a).iter().map(|p| p.file).collect();
        assert_eq!(
            files,
            [
                "clock.svg",
                "queue.svg",
                "jumps.svg",
                "events.svg",
                "spacetime.svg"
            ]
        );
        assert!(
            all(&a)
                .iter()
                .all(|p| p.svg.contains("<svg") && !p.about.is_empty())
        );
    }
}
