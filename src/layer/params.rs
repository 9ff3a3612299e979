//! A layer's parameters and their gradients, named as torch names them.

/// A layer's parameters: torch's `weight` and `bias`. Each has exactly the length the layer
/// states ([`weight_len`](super::Layer::weight_len), [`bias_len`](super::Layer::bias_len));
/// a tensor the layer does not have is empty.
#[derive(Clone, Copy, Debug, Default)]
pub struct Params<'a> {
    /// `weight`.
    pub weight: &'a [f32],
    /// `bias`.
    pub bias: &'a [f32],
}

impl<'a> Params<'a> {
    /// No parameters (activations, dropout, norms without affine parameters).
    pub const NONE: Params<'static> = Params {
        weight: &[],
        bias: &[],
    };

    /// `weight` and `bias`.
    pub const fn new(weight: &'a [f32], bias: &'a [f32]) -> Self {
        Params { weight, bias }
    }

    /// A flat slice holding `weight` (`weight_len` floats) then `bias`, as a model keeps them.
    pub fn split(flat: &'a [f32], weight_len: usize) -> Self {
        let (weight, bias) = flat.split_at(weight_len.min(flat.len()));
        Params { weight, bias }
    }
}

/// The gradients a backward pass accumulates into (`+=`, as autograd into `.grad`): `None`
/// where the caller wants none (a frozen tensor, or a layer without that tensor).
#[derive(Debug, Default)]
pub struct Grads<'a> {
    /// `weight.grad`, [`weight_len`](super::Layer::weight_len) floats.
    pub weight: Option<&'a mut [f32]>,
    /// `bias.grad`, [`bias_len`](super::Layer::bias_len) floats.
    pub bias: Option<&'a mut [f32]>,
}

impl<'a> Grads<'a> {
    /// No parameter gradient: the layer is frozen, or has no parameters.
    pub const NONE: Grads<'static> = Grads {
        weight: None,
        bias: None,
    };

    /// `weight.grad` and `bias.grad`; an empty slice (a tensor the layer lacks) is `None`.
    pub fn new(weight: &'a mut [f32], bias: &'a mut [f32]) -> Self {
        Grads {
            weight: (!weight.is_empty()).then_some(weight),
            bias: (!bias.is_empty()).then_some(bias),
        }
    }

    /// A flat slice holding `weight.grad` (`weight_len` floats) then `bias.grad`.
    pub fn split(flat: &'a mut [f32], weight_len: usize) -> Self {
        let (weight, bias) = flat.split_at_mut(weight_len.min(flat.len()));
        Grads::new(weight, bias)
    }

    /// Whether no gradient is wanted.
    pub const fn is_none(&self) -> bool {
        self.weight.is_none() && self.bias.is_none()
    }
}
