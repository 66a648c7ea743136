package attnc.reference;

import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * Whether one (b, h, q, kv) element is visible, evaluated exactly as {@link Reference} does. The
 * oracle for the block-sparsity analysis and the brute-force counts of {@code attnc explain}.
 * Not thread-safe: one instance per thread.
 */
public final class Visibility {
    private final Evaluator.BoolFn visible;
    private final Evaluator.Env env = new Evaluator.Env();

    private Visibility(Evaluator.BoolFn visible) {
        this.visible = visible;
    }

    public static Visibility of(Pattern pattern, Binding binding, Map<String, Tensor> inputs) {
        return new Visibility(new Evaluator(binding, inputs).bools(pattern.visibility()));
    }

    /** {@code q} is the absolute query position (the query offset already added). */
    public boolean visible(int b, int h, int q, int kv) {
        env.b = b;
        env.h = h;
        env.q = q;
        env.kv = kv;
        return visible.eval(env);
    }
}
