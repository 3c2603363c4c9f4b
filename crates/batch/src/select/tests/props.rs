//! Property tests of selection.

use super::*;

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

const ECOS: [&str; 4] = ["cargo", "homebrew", "npm", "pypi"];
const RETRIES: [Option<&str>; 6] = [
    None,
    Some(PAST),
    Some(FUTURE),
    Some(NOW),
    Some("2026-06-01T12:00:00.000000001Z"),
    Some("2026-06-01T11:59:59.999999999Z"),
];

fn status_of(i: usize) -> Status {
    [
        Status::Pending,
        Status::Failed,
        Status::Success,
        Status::Blocked,
        Status::RequiresManual,
        Status::Excluded,
    ][i]
        .clone()
}

fn state_of(i: usize) -> Option<EffectiveState> {
    [None, Some(Closed), Some(Open), Some(HalfOpen)][i]
}

#[derive(Debug, Clone)]
struct Case {
    entries: Vec<QueueEntry>,
    breakers: BTreeMap<String, EffectiveState>,
    opts: SelectOptions,
}

fn arb_entry() -> impl Strategy<Value = (usize, usize, i64, usize, bool)> {
    (
        0..ECOS.len(),
        0..6usize,
        0i64..=4,
        0..RETRIES.len(),
        proptest::bool::weighted(0.1),
    )
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(arb_entry(), 0..14),
        proptest::collection::vec(0..4usize, ECOS.len()),
        proptest::collection::vec(proptest::bool::weighted(0.25), ECOS.len()),
        proptest::collection::vec(proptest::bool::weighted(0.15), ECOS.len()),
        0usize..10,
        0i64..=4,
    )
        .prop_map(|(raw, states, filter, disabled, batch_size, tier)| {
            let entries = raw
                .into_iter()
                .enumerate()
                .map(|(i, (eco, st, prio, retry, bad_name))| {
                    let name = if bad_name {
                        format!("../e{i}")
                    } else {
                        format!("e{i}")
                    };
                    QueueEntry {
                        status: status_of(st),
                        next_retry_at: RETRIES[retry].map(ts),
                        ..QueueEntry::new(name, format!("{}:pkg{i}", ECOS[eco]), prio)
                    }
                })
                .collect();
            let breakers = ECOS
                .iter()
                .zip(states)
                .filter_map(|(eco, s)| state_of(s).map(|s| ((*eco).to_owned(), s)))
                .collect();
            let pick = |flags: Vec<bool>| -> BTreeSet<String> {
                ECOS.iter()
                    .zip(flags)
                    .filter(|(_, f)| *f)
                    .map(|(e, _)| (*e).to_owned())
                    .collect()
            };
            Case {
                entries,
                breakers,
                opts: SelectOptions {
                    batch_size,
                    tier,
                    ecosystems: pick(filter),
                    disabled: pick(disabled),
                    ..SelectOptions::default()
                },
            }
        })
}

fn state(c: &Case, eco: &str) -> EffectiveState {
    c.breakers.get(eco).copied().unwrap_or_default()
}

/// Whether the entry's ecosystem may contribute at all (filter, disabled, open).
fn eco_eligible(c: &Case, eco: &str) -> bool {
    (c.opts.ecosystems.is_empty() || c.opts.ecosystems.contains(eco))
        && !c.opts.disabled.contains(eco)
        && state(c, eco) != Open
}

/// Independent restatement of spec §3 with the crate's two deliberate differences.
fn reference(c: &Case) -> Selection {
    let n = now();
    let mut out = Selection::default();
    let mut main: Vec<Candidate> = Vec::new();
    let mut first_failed: BTreeMap<String, usize> = BTreeMap::new();
    let mut probed: BTreeSet<String> = BTreeSet::new();
    out.invalid = c
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.problems().is_empty())
        .map(|(index, e)| InvalidEntry {
            index,
            name: e.name.clone(),
            problems: e.problems(),
        })
        .collect();
    for (index, e) in c.entries.iter().enumerate() {
        let candidate_status = e.status == Status::Pending || e.status == Status::Failed;
        let eco = e
            .source
            .split_once(':')
            .map_or("", |(eco, _)| eco)
            .to_owned();
        if !e.problems().is_empty() || !candidate_status || !eco_eligible(c, &eco) {
            continue;
        }
        match state(c, &eco) {
            HalfOpen if e.status == Status::Pending && !probed.contains(&eco) => {
                probed.insert(eco);
                main.push(Candidate {
                    index,
                    reason: ProbePending,
                });
            }
            HalfOpen => {
                first_failed.entry(eco).or_insert(index);
            }
            _ => {
                let due = e.next_retry_at.is_none_or(|t| t.instant() <= n);
                if e.priority <= c.opts.tier && due {
                    main.push(Candidate {
                        index,
                        reason: Normal,
                    });
                    if main.len() >= c.opts.batch_size {
                        break;
                    }
                }
            }
        }
    }
    out.candidates = main;
    for (eco, index) in first_failed {
        if !probed.contains(&eco) {
            out.candidates.push(Candidate {
                index,
                reason: ProbeFailed,
            });
        }
    }
    out.candidates.truncate(c.opts.batch_size);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn prop_invariants(c in arb_case()) {
        let n = now();
        let s = select_candidates(&c.entries, &c.breakers, &c.opts, n);

        prop_assert!(s.candidates.len() <= c.opts.batch_size);

        let idx: BTreeSet<usize> = s.candidates.iter().map(|x| x.index).collect();
        prop_assert_eq!(idx.len(), s.candidates.len(), "duplicate candidates");

        let mut half_open_seen: BTreeSet<&str> = BTreeSet::new();
        for cand in &s.candidates {
            let e = &c.entries[cand.index];
            let eco = e.ecosystem();
            prop_assert!(matches!(e.status, Status::Pending | Status::Failed), "{:?}", e);
            prop_assert!(eco_eligible(&c, eco), "ineligible ecosystem {}", eco);
            prop_assert!(e.problems().is_empty(), "invalid entry selected: {:?}", e);
            match state(&c, eco) {
                HalfOpen => {
                    prop_assert!(half_open_seen.insert(eco), "two probes for {}", eco);
                    prop_assert_ne!(cand.reason, Normal);
                }
                _ => prop_assert_eq!(cand.reason, Normal),
            }
            match cand.reason {
                Normal => {
                    prop_assert!(e.priority <= c.opts.tier);
                    prop_assert!(e.next_retry_at.is_none_or(|t| t.instant() <= n));
                }
                ProbePending => prop_assert_eq!(&e.status, &Status::Pending),
                ProbeFailed => prop_assert_eq!(&e.status, &Status::Failed),
                Reason::Named | Reason::Forced | Reason::RetryFailed => {
                    prop_assert!(false, "no --name or --retry-failed here: {:?}", cand)
                }
            }
        }

        // Main-pass candidates in queue order, then fallbacks in ecosystem-name order.
        let main: Vec<usize> = s.candidates.iter()
            .take_while(|x| x.reason != ProbeFailed)
            .map(|x| x.index)
            .collect();
        prop_assert!(main.windows(2).all(|w| w[0] < w[1]), "{:?}", main);
        let rest = &s.candidates[main.len()..];
        prop_assert!(rest.iter().all(|x| x.reason == ProbeFailed), "{:?}", s.candidates);
        let fb_ecos: Vec<&str> = rest.iter().map(|x| c.entries[x.index].ecosystem()).collect();
        prop_assert!(fb_ecos.windows(2).all(|w| w[0] < w[1]), "{:?}", fb_ecos);

        // A fallback probe is the first valid failed entry of its ecosystem.
        for x in rest {
            let eco = c.entries[x.index].ecosystem();
            let first = c.entries.iter().position(|e| {
                e.ecosystem() == eco && e.status == Status::Failed && e.problems().is_empty()
            });
            prop_assert_eq!(first, Some(x.index));
        }

        // Invalid entries: never selected, in queue order, and every invalid entry of the
        // queue is reported, wherever it is.
        prop_assert!(s.invalid.windows(2).all(|w| w[0].index < w[1].index));
        for inv in &s.invalid {
            let e = &c.entries[inv.index];
            prop_assert!(!idx.contains(&inv.index));
            prop_assert_eq!(&inv.name, &e.name);
            prop_assert!(!inv.problems.is_empty());
        }
        let all_invalid = c.entries.iter().filter(|e| !e.problems().is_empty()).count();
        prop_assert_eq!(s.invalid.len(), all_invalid);
    }

    #[test]
    fn prop_matches_reference(c in arb_case()) {
        let s = select_candidates(&c.entries, &c.breakers, &c.opts, now());
        prop_assert_eq!(s, reference(&c));
    }

    #[test]
    fn prop_large_batch_takes_every_eligible_normal_entry(c in arb_case()) {
        let c = Case { opts: SelectOptions { batch_size: 1000, ..c.opts.clone() }, ..c };
        let n = now();
        let s = select_candidates(&c.entries, &c.breakers, &c.opts, n);
        let want: Vec<usize> = c.entries.iter().enumerate()
            .filter(|(_, e)| {
                matches!(e.status, Status::Pending | Status::Failed)
                    && eco_eligible(&c, e.ecosystem())
                    && state(&c, e.ecosystem()) == Closed
                    && e.problems().is_empty()
                    && e.priority <= c.opts.tier
                    && e.next_retry_at.is_none_or(|t| t.instant() <= n)
            })
            .map(|(i, _)| i)
            .collect();
        let got: Vec<usize> = s.candidates.iter().filter(|x| x.reason == Normal).map(|x| x.index).collect();
        prop_assert_eq!(got, want);
        // Every half-open ecosystem with a valid pending or failed entry gets exactly one probe.
        for eco in ECOS {
            if state(&c, eco) != HalfOpen || !eco_eligible(&c, eco) {
                continue;
            }
            let valid = |st: Status| c.entries.iter().position(|e| {
                e.ecosystem() == eco && e.status == st && e.problems().is_empty()
            });
            let want = valid(Status::Pending)
                .map(|i| Candidate { index: i, reason: ProbePending })
                .or(valid(Status::Failed).map(|i| Candidate { index: i, reason: ProbeFailed }));
            let got = s.candidates.iter().copied().find(|x| c.entries[x.index].ecosystem() == eco);
            prop_assert_eq!(got, want, "{}", eco);
        }
    }
}
