//! `summary.csv`: a header and one row per VM, the columns of
//! [`columns`](super::columns::columns).

use super::columns::{Cell, columns, number};
use crate::analyze::Analysis;

/// `summary.csv`: a header and one row per VM.
pub fn summary(a: &Analysis) -> String {
    let mut out = String::new();
    for (i, s) in a.vms.iter().enumerate() {
        let cols = columns(a, s);
        if i == 0 {
            let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
            out.push_str(&names.join(","));
            out.push('\n');
        }
        let cells: Vec<String> = cols.into_iter().map(|(_, c)| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn csv_cell(c: Cell) -> String {
    match c {
        Cell::Int(v) => v.to_string(),
        Cell::Num(Some(x)) if x.is_finite() => number(x),
        Cell::Num(_) => String::new(),
        Cell::Text(t) if t.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", t.replace('"', "\"\""))
        }
        Cell::Text(t) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{analysis, causal_analysis};

    #[test]
    fn a_header_and_one_full_row_per_vm() {
        let a = analysis();
        let text = summary(&a);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3);
        let header: Vec<&str> = rows[0].split(',').collect();
        assert_eq!(header.len(), columns(&a, &a.vms[0]).len());
        assert!(header.contains(&"wait_mean_ms") && header.contains(&"drift_growth_per_min"));
        assert!(header.iter().all(|h| {
            h.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        }));
        // The quoted run id holds one comma of its own.
        assert!(rows[1].starts_with("\"ab,c\"\"d\",18446744073709551615,1,4,runtime,80,"));
        assert_eq!(rows[1].split(',').count(), header.len() + 1);
        // VM 2 has no figures: empty cells, and no stop line.
        assert!(rows[2].contains(",died,") && rows[2].contains(",,"));
        assert!(rows[1].contains(",1.25,2,5,") && rows[1].contains(",1.5,3,0"));
    }

    #[test]
    fn happens_before_and_link_columns_close_the_header() {
        let mut a = causal_analysis(3);
        let text = summary(&a);
        let header = text.lines().next().unwrap();
        assert!(header.contains(",concurrent_share,lamport_ordered_concurrent_share,lamport_order_unfounded_share,wall_order_disagreement_share,"));
        // The clocks' figures come last, after every older column.
        assert!(header.ends_with(",wall_order_disagreement_share,clock_skew_ms,clock_drift_ppm,clock_epsilon_ms,receives_before_send,receives_before_send_max_ms,receives_before_send_true,hb_pairs_wall_reversed,hb_pairs_wall_reversed_max_ms,hb_pairs_wall_reversed_true,hlc_max_offset_ms,hlc_mean_offset_ms,hlc_max_c,hlc_beyond_epsilon"));
        // A run on true clocks: no skew of its own, an epsilon of 0, l on pt.
        let row = text.lines().nth(1).unwrap();
        assert!(row.ends_with(",,,0,0,0,0,0,0,0,0,0,0,0"), "{row}");
        assert!(header.contains(",peer_lost,link_down,messages_resent,"));
        a.vms[1].link_down = 2;
        a.vms[1].resent = 41;
        assert!(summary(&a).lines().nth(2).unwrap().contains(",2,41,"));
    }
}
