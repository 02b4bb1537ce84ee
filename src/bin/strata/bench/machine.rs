//! Facts about the machine a run ran on, read from /proc and `git` where they exist; anything
//! unknown is left out rather than failing the run.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Machine {
    /// Logical cores this process may use.
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub cpu_model: Option<String>,
    pub os: String,
    pub kernel: Option<String>,
    pub strata_version: String,
    /// The commit strata was built from, when known.
    pub commit: Option<String>,
    pub hostname: Option<String>,
}

impl Machine {
    pub fn probe() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: memory(),
            cpu_model: cpu_model(),
            os: std::env::consts::OS.to_string(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            strata_version: env!("CARGO_PKG_VERSION").to_string(),
            commit: commit(),
            hostname: read_trimmed("/proc/sys/kernel/hostname"),
        }
    }

    /// One line: `2 cores, 7.8 GiB, Intel(R) Xeon(R) ..., Linux 6.1.0`.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} cores", self.cores)];
        if let Some(m) = self.memory_bytes {
            parts.push(format!("{:.1} GiB", m as f64 / (1u64 << 30) as f64));
        }
        if let Some(cpu) = &self.cpu_model {
            parts.push(cpu.clone());
        }
        parts.push(match &self.kernel {
            Some(k) => format!("{} {k}", self.os),
            None => self.os.clone(),
        });
        let version = match &self.commit {
            Some(c) => format!("strata {} ({})", self.strata_version, &c[..c.len().min(12)]),
            None => format!("strata {}", self.strata_version),
        };
        parts.push(version);
        parts.join(", ")
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// `STRATA_GIT_COMMIT` at build time, else `git rev-parse HEAD` in the source tree strata was
/// built from (when it is still there); quietly nothing otherwise.
fn commit() -> Option<String> {
    if let Some(c) = option_env!("STRATA_GIT_COMMIT") {
        return Some(c.to_string());
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && text.len() >= 7).then(|| text.to_string())
}
