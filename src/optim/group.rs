//! Parameter groups: consecutive sub-slices of the model's parameters, each with its own
//! hyper-parameters and step counter (torch's `param_groups`).

use super::Optimizer;
use crate::error::check_len;
use crate::{Error, Result};

/// One parameter group: the next `len` parameters of the flat slice, the optimizer (with its
/// hyper-parameters) that updates them, and their step counter.
///
/// A group's state is the next `optimizer.state_len(len)` floats of the state slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamGroup<O> {
    /// The optimizer and hyper-parameters of this group.
    pub optimizer: O,
    /// How many parameters the group has.
    pub len: usize,
    /// The group's step counter (0 before the first step).
    pub step: u64,
}

impl<O: Optimizer> ParamGroup<O> {
    /// A group of `len` parameters that has not stepped yet.
    pub const fn new(optimizer: O, len: usize) -> Self {
        ParamGroup {
            optimizer,
            len,
            step: 0,
        }
    }
}

/// The state length for `groups`: the sum of each group's `state_len(len)` (saturating).
pub fn groups_state_len<O: Optimizer>(groups: &[ParamGroup<O>]) -> usize {
    groups.iter().fold(0usize, |acc, g| {
        acc.saturating_add(g.optimizer.state_len(g.len))
    })
}

/// Steps every group: the groups cover `params` (and `grads`) in order, and their states
/// cover `state` in order. Each group's counter advances by one.
///
/// Everything is checked before anything is written: the groups' lengths must add up to
/// `params.len()` (and to `grads.len()`), their state lengths to `state.len()`, no group may be
/// empty, and every group's hyper-parameters must be valid; on `Err` no parameter, state or
/// counter has changed.
///
/// ```
/// use descent::optim::{step_groups, ParamGroup, Sgd, Optimizer};
///
/// // Weights with weight decay, biases without (a common split).
/// let mut groups = [
///     ParamGroup::new(Sgd { lr: 0.1, weight_decay: 0.01, ..Sgd::DEFAULT }, 4),
///     ParamGroup::new(Sgd { lr: 0.1, ..Sgd::DEFAULT }, 2),
/// ];
/// let mut params = [1.0; 6];
/// let grads = [0.0; 6];
/// step_groups(&mut groups, &mut params, &grads, &mut [])?;
/// assert_eq!(params, [0.999, 0.999, 0.999, 0.999, 1.0, 1.0]);
/// assert_eq!(groups[1].step, 1);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`] (`"group"`) for an empty group or no group;
/// [`Error::LengthMismatch`] for `"params"` (the groups' total), `"grads"` or `"state"`;
/// [`Error::DimensionOverflow`] (`"params"`) when the groups' lengths add up past `usize`;
/// anything a group's [`Optimizer::update`] would give, and [`Error::InvalidHyperParameter`]
/// (`"step"`) when a counter would overflow.
pub fn step_groups<O: Optimizer>(
    groups: &mut [ParamGroup<O>],
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) -> Result<()> {
    if groups.is_empty() {
        return Err(Error::ZeroDimension { what: "group" });
    }
    let mut total = 0usize;
    for g in groups.iter() {
        if g.len == 0 {
            return Err(Error::ZeroDimension { what: "group" });
        }
        g.optimizer.validate()?;
        if g.step == u64::MAX {
            return Err(Error::InvalidHyperParameter { what: "step" });
        }
        total = total
            .checked_add(g.len)
            .ok_or(Error::DimensionOverflow { what: "params" })?;
    }
    check_len("params", params.len(), total)?;
    check_len("grads", grads.len(), total)?;
    check_len("state", state.len(), groups_state_len(groups))?;

    let (mut p, mut gr, mut s) = (params, grads, state);
    for g in groups.iter_mut() {
        let p_len = g.len.min(p.len());
        let s_len = g.optimizer.state_len(g.len).min(s.len());
        let (p_here, p_rest) = core::mem::take(&mut p).split_at_mut(p_len);
        let (g_here, g_rest) = gr.split_at(p_len.min(gr.len()));
        let (s_here, s_rest) = core::mem::take(&mut s).split_at_mut(s_len);
        g.optimizer.update(g.step + 1, p_here, g_here, s_here)?;
        g.step += 1;
        (p, gr, s) = (p_rest, g_rest, s_rest);
    }
    Ok(())
}
