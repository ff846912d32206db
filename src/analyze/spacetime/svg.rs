//! The space-time diagram as hand-written SVG (no files): one lane per VM,
//! wall time along x for the chosen window, each tick event a mark by kind
//! with its clock value where there is room, and an arrow from each send to
//! the receive that processed it. Arrows crossing the window's edge are cut
//! at the edge (an SVG clip path); messages never received are not drawn.

use std::fmt::Write as _;

use super::model::{Kind, Mark, SpaceTime};
use crate::analyze::per_vm::VmStats;
use crate::report::markup::escape_xml;

const LEFT: f64 = 100.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 100.0;
const LANE_H: f64 = 72.0;
const BOTTOM: f64 = 90.0;
/// Pixels per event along the busiest lane, so labels fit at default rates.
const PX_PER_EVENT: f64 = 26.0;
const MIN_WIDTH: f64 = 900.0;
const MAX_WIDTH: f64 = 4000.0;
const LABEL_PX: f64 = 11.0;

/// Where things go.
struct Geometry {
    window: (f64, f64),
    width: f64,
    lanes: Vec<u32>,
}

impl Geometry {
    fn new(st: &SpaceTime) -> Self {
        let busiest = st
            .vms
            .iter()
            .map(|vm| st.marks.iter().filter(|m| m.vm == *vm).count())
            .max()
            .unwrap_or(0);
        Geometry {
            window: st.window,
            width: (busiest as f64 * PX_PER_EVENT).clamp(MIN_WIDTH, MAX_WIDTH),
            lanes: st.vms.clone(),
        }
    }

    fn x(&self, t: f64) -> f64 {
        let (a, b) = self.window;
        LEFT + (t - a) / (b - a) * self.width
    }

    fn y(&self, vm: u32) -> f64 {
        let lane = self.lanes.iter().position(|&v| v == vm).unwrap_or(0);
        TOP + LANE_H * (lane as f64 + 0.5)
    }

    fn bottom(&self) -> f64 {
        TOP + LANE_H * self.lanes.len() as f64
    }

    fn size(&self) -> (f64, f64) {
        (LEFT + self.width + RIGHT, self.bottom() + BOTTOM)
    }
}

/// The diagram of `st`; `vms` gives each lane's rate for its label.
pub fn diagram(st: &SpaceTime, vms: &[VmStats]) -> String {
    let g = Geometry::new(st);
    let (w, h) = g.size();
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif">"#
    );
    defs(&g, &mut out);
    let _ = write!(
        out,
        r#"<rect width="{w:.0}" height="{h:.0}" fill="white"/>"#
    );
    header(st, &mut out);
    time_axis(&g, &mut out);
    lanes(&g, vms, &mut out);
    arrows(&g, st, &mut out);
    marks(&g, &st.marks, &mut out);
    footer(&g, st, &mut out);
    out.push_str("</svg>\n");
    out
}

fn defs(g: &Geometry, out: &mut String) {
    let (y0, hgt) = (TOP - 20.0, g.bottom() - TOP + 40.0);
    let _ = write!(
        out,
        r##"<defs><marker id="st-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#3b4a5a"/></marker><clipPath id="st-clip"><rect x="{LEFT}" y="{y0}" width="{:.1}" height="{hgt}"/></clipPath></defs>"##,
        g.width
    );
}

fn header(st: &SpaceTime, out: &mut String) {
    let (a, b) = st.window;
    let _ = write!(
        out,
        r#"<text x="{LEFT}" y="32" font-size="22">Space-time diagram, {} s to {} s after the start</text>"#,
        short(a),
        short(b)
    );
    let mut x = LEFT;
    let y = 66.0;
    for kind in [Kind::Internal, Kind::Send, Kind::Receive] {
        shape(kind, x + 6.0, y, out);
        let name = kind_name(kind);
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" font-size="15">{name}</text>"#,
            x + 18.0,
            y + 5.0
        );
        x += 120.0;
    }
    let _ = write!(
        out,
        r##"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="#3b4a5a" stroke-width="1.4" marker-end="url(#st-head)"/><text x="{}" y="{}" font-size="15">message, send to receive</text>"##,
        x + 34.0,
        x + 42.0,
        y + 5.0
    );
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" font-size="15" fill="#555">numbers: logical clock</text>"##,
        x + 260.0,
        y + 5.0
    );
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Internal => "internal",
        Kind::Send => "send",
        Kind::Receive => "receive",
    }
}

/// The mark of one event centred on (x, y).
fn shape(kind: Kind, x: f64, y: f64, out: &mut String) {
    let _ = match kind {
        Kind::Internal => write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="#c7c7c7" stroke="#6b6b6b"/>"##
        ),
        Kind::Send => write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#1f77b4" stroke="#0d3d63"/>"##,
            x - 5.0,
            y - 5.0
        ),
        Kind::Receive => write!(
            out,
            r##"<path d="M{x:.1},{:.1} l6.5,6.5 l-6.5,6.5 l-6.5,-6.5 z" fill="#ff7f0e" stroke="#8a4204"/>"##,
            y - 6.5
        ),
    };
}

/// Vertical grid lines and second labels along the bottom.
fn time_axis(g: &Geometry, out: &mut String) {
    let (a, b) = g.window;
    let step = nice_step((b - a) / (g.width / 80.0));
    let bottom = g.bottom();
    let mut k = (a / step).ceil() as i64;
    while (k as f64) * step <= b + 1e-9 {
        let t = k as f64 * step;
        let x = g.x(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#e4e4e4"/><text x="{x:.1}" y="{}" font-size="14" text-anchor="middle">{}</text>"##,
            TOP - 10.0,
            bottom + 6.0,
            bottom + 24.0,
            short(t)
        );
        k += 1;
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{}" font-size="16" text-anchor="middle">wall time since start (s)</text>"#,
        LEFT + g.width / 2.0,
        bottom + 50.0
    );
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 {
        return 1.0;
    }
    // 1 / 10^3, not powf(10, -3) nor powi(-3): on Windows those give
    // 0.0010000000000000002. Powers of ten up to 10^22 are exact.
    let e = raw.log10().floor() as i32;
    let p = if e >= 0 {
        10f64.powi(e)
    } else {
        1.0 / 10f64.powi(-e)
    };
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * p)
}

fn short(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn lanes(g: &Geometry, vms: &[VmStats], out: &mut String) {
    for &vm in &g.lanes {
        let y = g.y(vm);
        let rate = vms.iter().find(|s| s.vm == vm).map_or(0, |s| s.rate);
        let unit = if rate == 1 { "tick" } else { "ticks" };
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y}" x2="{:.1}" y2="{y}" stroke="#9a9a9a" stroke-width="1.2"/><text x="{}" y="{}" font-size="17" font-weight="bold" text-anchor="end">VM {vm}</text><text x="{}" y="{}" font-size="13" fill="#555" text-anchor="end">{rate} {unit}/s</text>"##,
            LEFT + g.width,
            LEFT - 14.0,
            y - 2.0,
            LEFT - 14.0,
            y + 15.0
        );
    }
}

fn arrows(g: &Geometry, st: &SpaceTime, out: &mut String) {
    out.push_str(r##"<g clip-path="url(#st-clip)" stroke="#3b4a5a" stroke-width="1.3" stroke-opacity="0.7" fill="none">"##);
    for a in &st.arrows {
        let (x1, y1) = (g.x(a.sent), g.y(a.from));
        let (x2, y2) = (g.x(a.received), g.y(a.to));
        // Stop short of the receive's mark so the head shows.
        let len = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt().max(1.0);
        let (ex, ey) = (x2 - (x2 - x1) / len * 7.0, y2 - (y2 - y1) / len * 7.0);
        let _ = write!(
            out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{ex:.1}" y2="{ey:.1}" marker-end="url(#st-head)"/>"#
        );
    }
    out.push_str("</g>");
}

/// Every mark, then its clock above it (or below) where that does not
/// overlap the lane's previous label.
fn marks(g: &Geometry, marks: &[Mark], out: &mut String) {
    for &vm in &g.lanes {
        let y = g.y(vm);
        let mut lane: Vec<&Mark> = marks.iter().filter(|m| m.vm == vm).collect();
        lane.sort_by(|a, b| a.t.total_cmp(&b.t));
        let mut free = [f64::NEG_INFINITY; 2];
        for m in lane {
            let x = g.x(m.t);
            shape(m.kind, x, y, out);
            let text = m.clock.to_string();
            let half = text.len() as f64 * LABEL_PX * 0.31 + 1.5;
            let Some(row) = (0..2).find(|&r| x - half >= free[r]) else {
                continue;
            };
            free[row] = x + half;
            let ly = if row == 0 { y - 11.0 } else { y + 21.0 };
            let _ = write!(
                out,
                r##"<text x="{x:.1}" y="{ly:.1}" font-size="{LABEL_PX}" fill="#333" text-anchor="middle" stroke="white" stroke-width="3" paint-order="stroke">{text}</text>"##
            );
        }
    }
}

fn footer(g: &Geometry, st: &SpaceTime, out: &mut String) {
    let note = if st.marks.is_empty() {
        "No events in this window: choose another with --window START..END (seconds)."
    } else {
        "Arrows run from a send to the receive that processed it; those crossing the window's edge are cut there. Messages never received are not drawn."
    };
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{:.1}" font-size="13" fill="#555">{}</text>"##,
        g.bottom() + 76.0,
        escape_xml(note)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::spacetime::model::Arrow;

    fn mark(vm: u32, t: f64, kind: Kind, clock: u64) -> Mark {
        Mark { vm, t, kind, clock }
    }

    fn small() -> SpaceTime {
        SpaceTime {
            window: (0.0, 2.0),
            vms: vec![1, 2],
            marks: vec![
                mark(1, 0.1, Kind::Internal, 1),
                mark(1, 0.5, Kind::Send, 2),
                mark(2, 0.9, Kind::Receive, 3),
                mark(2, 0.9001, Kind::Internal, 4),
            ],
            arrows: vec![
                Arrow {
                    from: 1,
                    to: 2,
                    sent: 0.5,
                    received: 0.9,
                },
                Arrow {
                    from: 2,
                    to: 1,
                    sent: 1.5,
                    received: 3.0,
                },
            ],
        }
    }

    #[test]
    fn lanes_marks_labels_and_arrows() {
        let svg = diagram(&small(), &[]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(">VM 1</text>") && svg.contains(">VM 2</text>"));
        // One line per arrow, plus the legend's.
        assert_eq!(svg.matches("marker-end").count(), 3);
        // Marks: two internal circles plus the legend's.
        assert_eq!(svg.matches("<circle").count(), 3);
        for clock in [">1</text>", ">2</text>", ">3</text>"] {
            assert!(svg.contains(clock), "{clock}");
        }
        // An arrow leaving the window is clipped, not dropped.
        assert!(svg.contains("clip-path=\"url(#st-clip)\""));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn crowded_labels_move_below_then_give_way() {
        let mut st = small();
        st.marks.push(mark(2, 0.9002, Kind::Internal, 5));
        let svg = diagram(&st, &[]);
        assert!(svg.contains(">4</text>"), "second row");
        assert!(!svg.contains(">5</text>"), "no room left");
    }

    #[test]
    fn an_empty_window_says_so() {
        let st = SpaceTime {
            window: (50.0, 60.0),
            vms: vec![1],
            ..SpaceTime::default()
        };
        assert!(diagram(&st, &[]).contains("No events in this window"));
    }

    #[test]
    fn time_steps_are_round() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(0.0026), 0.005);
        assert_eq!(nice_step(30.0), 50.0);
        assert_eq!(nice_step(0.0), 1.0);
    }
}
