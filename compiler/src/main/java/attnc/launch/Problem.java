package attnc.launch;

import attnc.ir.Expr;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * One launch: Q [B, H, Nq, D], K [B, Hkv, Nkv, D], V [B, Hkv, Nkv, Dv], the pattern's input
 * tensors by name, launch-time param values (int, float or bool literals) and the absolute
 * position of the first query. A negative offset means "bottom-right": Nkv − Nq when Nq ≤ Nkv
 * (the last query sees the last key, as FlashAttention aligns decode against a KV cache), else 0.
 */
public record Problem(Tensor q, Tensor k, Tensor v, Map<String, Tensor> inputs, Map<String, Expr> params, int queryOffset) {

    public static final int BOTTOM_RIGHT = -1;

    public Problem {
        inputs = Map.copyOf(inputs);
        params = Map.copyOf(params);
    }

    public Problem(Tensor q, Tensor k, Tensor v, Map<String, Tensor> inputs) {
        this(q, k, v, inputs, Map.of(), BOTTOM_RIGHT);
    }
}
