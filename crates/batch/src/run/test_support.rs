//! Helpers shared by the run stage's unit tests.

use batch_base::clock::Clock;

use super::{Event, Plan, RunError, RunReport};
use crate::config::Config;
use crate::runner::Runner;
use crate::sequence::{Finished, MainRun};

/// The main sequence as production runs it ([`MainRun`]), without a shard: the plan and the
/// report (an empty one when the kill switch is off).
pub(super) async fn run(
    config: &Config,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<(Plan, RunReport), RunError> {
    let hooks = |e: Event<'_>| on_event(e);
    match MainRun::new(config, runner, clock)
        .hooks(&hooks)
        .run()
        .await
    {
        Ok(Finished::Batch { plan, report }) => Ok((plan, report)),
        Ok(Finished::KillSwitch(plan)) => Ok((plan, RunReport::default())),
        Ok(Finished::Shard { .. }) => unreachable!("no shard was asked for"),
        Err(e) => Err(e.error),
    }
}
