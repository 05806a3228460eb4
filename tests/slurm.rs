//! Sharding on a real Slurm: a single-node cluster started here (munged,
//! slurmctld and slurmd from Debian's `slurm-wlm` and `munge`, in a temporary
//! folder with their own key, socket and ports, run as root in the
//! foreground so they can be stopped by process id), a sharded run submitted
//! with `slurm submit --wait --merge`, and the merged run compared with the
//! plan and with an unsharded run of the same experiment and seed.
//!
//! Skipped where Slurm is not installed or we are not root, unless
//! INFER_BENCH_REQUIRE_SLURM is set (CI sets it), where that fails.

mod common;

use common::{bin, experiment, run, single_run};
use infer_bench::results::read_run;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        // slurmd before slurmctld before munged: each needs the next.
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn available() -> bool {
    let have = |name: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = root
        && ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"]
            .iter()
            .all(|b| have(b));
    if !ok {
        assert!(
            std::env::var_os("INFER_BENCH_REQUIRE_SLURM").is_none(),
            "Slurm missing (apt-get install slurm-wlm munge) or not root"
        );
        eprintln!("skipped: no Slurm to test against (or not root)");
    }
    ok
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    cmd.stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"))
}

/// A one-node cluster under `dir`; returns the daemons and slurm.conf.
fn cluster(dir: &Path) -> (Daemons, PathBuf) {
    let key = dir.join("munge.key");
    let mut bytes = vec![0u8; 1024];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    std::fs::write(&key, &bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    let socket = dir.join("munge.sock");
    let mut daemons = Daemons(Vec::new());
    daemons.0.push(spawn(
        Command::new("munged")
            .arg("-F")
            .arg("-f")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--log-file={}", dir.join("munged.log").display()))
            .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
        &dir.join("munged.err"),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "munged did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    for d in ["state", "spool"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let conf = dir.join("slurm.conf");
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=ib\nSlurmctldHost=localhost(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\n\
             SlurmctldPort={}\nSlurmdPort={}\nStateSaveLocation={}\nSlurmdSpoolDir={}\n\
             SlurmctldPidFile={}\nSlurmdPidFile={}\nSlurmctldLogFile={}\nSlurmdLogFile={}\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nSchedulerType=sched/backfill\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
             SchedulerParameters=batch_sched_delay=0,sched_min_interval=0\nMpiDefault=none\nReturnToService=2\n\
             NodeName=ibnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
             PartitionName=debug Nodes=ibnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES\n",
            socket.display(),
            free_port(),
            free_port(),
            p("state"),
            p("spool"),
            p("slurmctld.pid"),
            p("slurmd.pid"),
            p("slurmctld.log"),
            p("slurmd.log"),
        ),
    )
    .unwrap();
    daemons.0.push(spawn(
        Command::new("slurmctld").arg("-D").arg("-f").arg(&conf),
        &dir.join("slurmctld.err"),
    ));
    daemons.0.push(spawn(
        Command::new("slurmd")
            .arg("-D")
            .arg("-f")
            .arg(&conf)
            .args(["-N", "ibnode"]),
        &dir.join("slurmd.err"),
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new("sinfo")
            .env("SLURM_CONF", &conf)
            .args(["-h", "-o", "%T"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).trim() == "idle" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the node never came up: {}",
            std::fs::read_to_string(dir.join("slurmctld.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (daemons, conf)
}

#[test]
fn a_sharded_run_on_slurm_merges_into_the_unsharded_plan() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (_daemons, conf) = cluster(tmp.path());
    eprintln!("cluster up in {:.1}s", started.elapsed().as_secs_f64());

    let body = "name: sharded\nseed: 5\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: \"{prompts}\"\n\
                baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4}\nfactors: {concurrency: [1, 2]}\n\
                repetitions: 4\nwarmup: {requests: 0}\ntrial: {requests: 3}\n";
    let exp = experiment(tmp.path(), "sharded.yaml", body);
    let out = tmp.path().join("results");
    let assert = bin()
        .env("SLURM_CONF", &conf)
        .args([
            "slurm", "submit", "--shards", "4", "--wait", "--merge", "--out",
        ])
        .arg(&out)
        .arg(&exp)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("submitted job"), "{stdout}");
    eprintln!(
        "submitted, ran and merged in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Four shard folders and the merged one.
    let mut runs: Vec<_> = std::fs::read_dir(out.join("sharded"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .map(|p| read_run(&p).unwrap())
        .collect();
    assert_eq!(runs.len(), 5, "4 shards and their merge");
    runs.sort_by_key(|r| r.manifest.merged_from.len());
    let merged = runs.pop().unwrap();
    assert_eq!(merged.manifest.merged_from.len(), 4);
    assert!(runs
        .iter()
        .all(|r| r.manifest.slurm_job.is_some() && r.manifest.shard.is_some()));

    // The unsharded run of the same experiment and seed.
    let whole_dir = tempfile::tempdir().unwrap();
    let exp2 = experiment(whole_dir.path(), "sharded.yaml", body);
    run(whole_dir.path(), &exp2, &[], 0);
    let whole = read_run(&single_run(whole_dir.path(), "sharded")).unwrap();
    assert_eq!(merged.trials, whole.trials, "the same plan");
    assert_eq!(merged.configurations, whole.configurations);
    assert_eq!(merged.manifest.trials_done, whole.manifest.trials_done);
    let count = |r: &infer_bench::results::RunData| {
        let mut v: Vec<(usize, usize)> = r.records.iter().map(|x| (x.trial, x.config)).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(count(&merged), count(&whole));
    // The merged folder is a run like any other.
    bin().arg("report").arg(&merged.dir).assert().success();
    assert!(merged.dir.join("report.html").is_file());
}

#[test]
fn merging_refuses_missing_and_duplicate_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "m.yaml",
        "name: m\ntarget: {builtin: sim, model: m}\nprompts: \"{prompts}\"\nbaseline: {concurrency: 1, output_tokens: 4}\n\
         repetitions: 3\nwarmup: {requests: 0}\ntrial: {requests: 2}\n",
    );
    for i in 0..2 {
        run(tmp.path(), &exp, &["--shard", &format!("{i}/3")], 0);
    }
    let shards: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("m"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let assert = bin().arg("merge").args(&shards).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("shard 2/3 missing"), "{stderr}");
    let assert = bin()
        .arg("merge")
        .arg(&shards[0])
        .arg(&shards[0])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("twice"), "{stderr}");
    // Too few repetitions for the shards: refused before anything runs.
    run(tmp.path(), &exp, &["--shard", "0/4"], 2);
}
