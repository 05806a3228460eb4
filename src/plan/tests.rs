use super::*;
use crate::experiment::Experiment;
use proptest::prelude::*;

fn experiment(seed: u64, levels: &[usize], repetitions: u32, order: &str) -> Experiment {
    let mut yaml = format!(
        "name: t\nseed: {seed}\ntarget: {{builtin: sim}}\nprompts: p.yaml\nrepetitions: {repetitions}\norder: {order}\ntrial: {{requests: 1}}\nbaseline: {{"
    );
    let base: Vec<String> = (0..levels.len()).map(|i| format!("f{i}: 0")).collect();
    yaml.push_str(&base.join(", "));
    yaml.push_str("}\nfactors:\n");
    for (i, n) in levels.iter().enumerate() {
        let ls: Vec<String> = (0..*n).map(|l| l.to_string()).collect();
        yaml.push_str(&format!("  f{i}: [{}]\n", ls.join(", ")));
    }
    serde_yaml::from_str(&yaml).unwrap()
}

#[test]
fn ofat_count_is_one_plus_sum_of_levels_minus_one() {
    let e = experiment(1, &[4, 3, 1], 2, "randomized");
    let p = expand(&e);
    assert_eq!(p.configurations.len(), 1 + 3 + 2);
    assert_eq!(p.trials.len(), 6 * 2);
    assert_eq!(p.configurations[0].label, "baseline");
    assert_eq!(p.configurations[1].label, "f0=1");
}

#[test]
fn factorial_runs_every_combination_once_per_block_baseline_first() {
    let mut e = experiment(3, &[3, 2, 2], 2, "randomized");
    e.design = crate::experiment::Design::Factorial;
    let p = expand(&e);
    assert_eq!(p.configurations.len(), 3 * 2 * 2);
    assert_eq!(p.trials.len(), 12 * 2);
    let labels: Vec<&str> = p.configurations.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(&labels[..4], ["baseline", "f2=1", "f1=1", "f1=1,f2=1"]);
    assert!(labels.contains(&"f0=2,f1=1,f2=1"));
    // Every cell is a distinct assignment of all three factors.
    let cells: std::collections::BTreeSet<String> = p
        .configurations
        .iter()
        .map(|c| format!("{:?}", c.values))
        .collect();
    assert_eq!(cells.len(), 12);
    // A cell one factor away from the baseline reads as in OFAT.
    let one = &p.configurations[1];
    assert_eq!(
        (
            one.single_factor(),
            one.level.as_ref().map(|l| l.to_string())
        ),
        (Some("f2"), Some("1".into()))
    );
    let two = &p.configurations[3];
    assert_eq!(two.factors, ["f1", "f2"]);
    assert_eq!(two.factor_label(), "f1,f2");
    for block in p.trials.chunks(12) {
        let mut seen: Vec<usize> = block.iter().map(|t| t.config).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
    }
}

#[test]
fn sequential_keeps_file_order() {
    let e = experiment(1, &[3, 2], 2, "sequential");
    let order: Vec<usize> = expand(&e).trials.iter().map(|t| t.config).collect();
    assert_eq!(order, vec![0, 1, 2, 3, 0, 1, 2, 3]);
}

#[test]
fn different_seeds_give_different_orders() {
    let a = expand(&experiment(1, &[4, 4], 3, "randomized"));
    let b = expand(&experiment(2, &[4, 4], 3, "randomized"));
    assert_ne!(a.trials, b.trials);
}

proptest! {
    #[test]
    fn same_seed_same_plan_and_blocks_hold_each_config_once(
        seed in any::<u64>(),
        levels in proptest::collection::vec(1usize..5, 1..4),
        reps in 1u32..5,
    ) {
        let e = experiment(seed, &levels, reps, "randomized");
        let p = expand(&e);
        prop_assert_eq!(&p, &expand(&e));
        let n = p.configurations.len();
        prop_assert_eq!(n, 1 + levels.iter().map(|l| l - 1).sum::<usize>());
        for (r, block) in p.trials.chunks(n).enumerate() {
            let mut configs: Vec<usize> = block.iter().map(|t| t.config).collect();
            configs.sort_unstable();
            prop_assert_eq!(configs, (0..n).collect::<Vec<_>>());
            prop_assert!(block.iter().all(|t| t.repetition as usize == r));
        }
        prop_assert!(p.trials.iter().enumerate().all(|(i, t)| t.index == i));
    }
}

#[test]
fn shards_split_whole_blocks_cover_the_plan_once_and_stay_balanced() {
    let p = expand(&experiment(9, &[3, 2], 5, "randomized"));
    let n = 3;
    let mut all: Vec<usize> = Vec::new();
    for i in 0..n {
        let shard = Shard { index: i, count: n };
        let trials = shard.trials(&p).unwrap();
        // Whole blocks: every configuration as often as the shard has blocks.
        let blocks: std::collections::BTreeSet<u32> =
            trials.iter().map(|t| p.trials[*t].repetition).collect();
        for c in 0..p.configurations.len() {
            let count = trials.iter().filter(|t| p.trials[**t].config == c).count();
            assert_eq!(count, blocks.len());
        }
        all.extend(trials);
    }
    all.sort_unstable();
    assert_eq!(all, (0..p.trials.len()).collect::<Vec<_>>());
    assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
    assert!(
        Shard::parse("3/3").is_err() && Shard::parse("x/2").is_err() && Shard::parse("1").is_err()
    );
    assert!(Shard { index: 0, count: 6 }
        .trials(&p)
        .unwrap_err()
        .contains("at least 6 repetitions"));
}
