//! The bench's figures: as text, and as the "Batch capture" section of docs/BENCHMARKS.md.

use super::EARLY;
use std::path::Path;

/// Requests, 429s and wall time of a paced step, and its floor (the requests not refused ÷ R).
pub struct Paced {
    pub requests: u64,
    pub limited: u64,
    pub ms: u128,
    pub rate: u32,
}

impl Paced {
    fn floor_ms(&self) -> u128 {
        u128::from(self.requests - self.limited) * 1000 / u128::from(self.rate.max(1))
    }

    fn ratio(&self) -> String {
        let hundredths = self.ms * 100 / self.floor_ms().max(1);
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    }

    fn line(&self, what: &str) -> String {
        format!(
            "{what}: {} requests ({} answered 429) in {}; floor {}; ratio {} (goal <= 1.15)",
            self.requests,
            self.limited,
            secs(self.ms),
            secs(self.floor_ms()),
            self.ratio()
        )
    }
}

fn secs(ms: u128) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

/// Everything the bench measured.
pub struct Figures {
    pub items: u64,
    pub batch_items: usize,
    pub ready: i64,
    pub invoices: u64,
    pub rate: u32,
    pub preflight: Paced,
    pub run: Paced,
    pub run_exit: Option<i32>,
    pub early: (u64, u64),
    pub late: (u64, u64),
    pub max: (u64, u64),
    pub done: u64,
    pub last_line: String,
    /// The machine's 1-minute load average before the preflight and at the end of the run.
    pub load: (String, String),
}

/// The 1-minute load average (other work on the machine slows a paced run little).
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

impl Figures {
    pub fn text(&self) -> String {
        let grew = |from: u64, to: u64| {
            let (from, to) = (i128::from(from), i128::from(to));
            let tenths = (to - from) * 1000 / from.max(1);
            format!("{}{}.{}%", if tenths < 0 { "-" } else { "+" }, tenths.abs() / 10, tenths.abs() % 10)
        };
        let (e, l) = (self.early, self.late);
        [
            format!(
                "batch of {} items ({} ready; {} invoices seeded), sandbox limit {} requests/s",
                self.batch_items, self.ready, self.invoices, self.rate
            ),
            self.preflight.line("preflight"),
            format!("{}; exit {:?}", self.run.line("run (`desk batch run`)"), self.run_exit),
            format!(
                "run memory at {EARLY} → {} items done: RssAnon (heap) {} → {} KiB ({}; goal within 10%), \
                 VmRSS {} → {} KiB ({}; includes the memory-mapped database); most seen: RssAnon {} KiB, VmRSS {} KiB",
                self.items,
                e.1,
                l.1,
                grew(e.1, l.1),
                e.0,
                l.0,
                grew(e.0, l.0),
                self.max.1,
                self.max.0
            ),
            format!("items done by the run: {}; last progress: {}", self.done, self.last_line),
            format!("load average (1 min) before the preflight {}, at the end of the run {}", self.load.0, self.load.1),
        ]
        .join("\n")
    }

    /// The section of docs/BENCHMARKS.md.
    pub fn section(&self, text: &str) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let build = if cfg!(debug_assertions) { "debug build, dependencies optimised" } else { "release build" };
        format!(
            "{START}\n## Batch capture\n\n`cargo xtask bench-batch --items {} --rate {}` ({build}; {cores} cores, {cpu}; \
             written by the bench). Goals (issue 10): wall time at most 1.15× the floor (requests not \
             refused ÷ R), almost no 429s, RSS at {} items done within 10 % of at {EARLY}.\n\n```text\n{text}\n```\n\n\
             RssAnon is the heap glibc holds, not only what is in use. Under valgrind massif \
             (`BENCH_DESK_WRAP=\"valgrind --tool=massif\"`, 1,150 items) the run's live heap is flat: its low \
             point is 2.93 MB ± 20 KB in every eighth of the run, so nothing is kept per item; the few hundred \
             KiB RssAnon gains after the first 100 items come in small steps that slow down (memory freed and \
             kept by malloc, peaks of concurrent requests), and are as large with `MALLOC_ARENA_MAX=1` (one \
             arena; a diagnosis, not a fix). The level before the first item varies from run to run of one \
             binary (7.3 to 13 MB seen), set at the start; the goal is about what the items add. The run \
             counts its items in SQL rather than reading the batch (peak heap 5.8 → 3.2 MB at 1,547 items). \
             `BENCH_RSS_TRACE=FILE` writes every sample.\n{END}\n",
            self.items, self.rate, self.items
        )
    }
}

const START: &str = "<!-- bench-batch:start -->";
const END: &str = "<!-- bench-batch:end -->";

/// Replaces the section between [`START`] and [`END`] of `file` (or appends it; a new file
/// gets a header), keeping the rest.
pub fn write_section(file: &Path, section: &str) -> Result<(), String> {
    let old = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Benchmarks\n\nFigures measured by `cargo xtask bench-*` \
             on the machine and build each section names; rerun a section's command to refresh it.\n"
                .to_owned()
        }
        Err(e) => return Err(e.to_string()),
    };
    let new = match (old.find(START), old.find(END)) {
        (Some(s), Some(e)) if s < e => {
            let rest = old[e + END.len()..].trim_start_matches('\n');
            format!("{}{section}{}{rest}", &old[..s], if rest.is_empty() { "" } else { "\n" })
        }
        _ => format!("{}\n{section}", old.trim_end_matches('\n').to_owned() + "\n"),
    };
    std::fs::write(file, new).map_err(|e| e.to_string())
}
