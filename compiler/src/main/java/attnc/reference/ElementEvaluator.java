package attnc.reference;

import attnc.ir.Expr;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.Map;

/**
 * An expression evaluated at single elements (b, h, q, kv, d) with exactly the reference's
 * meaning, for checks that must agree with it (the index ranges of loads before a launch).
 * An index out of range inside the expression is the reference's own {@link attnc.launch.ShapeException}.
 * One instance is for one thread.
 */
public final class ElementEvaluator {
    private final Evaluator evaluator;
    private final Evaluator.Env env = new Evaluator.Env();

    public ElementEvaluator(Binding binding, Map<String, Tensor> inputs) {
        this.evaluator = new Evaluator(binding, inputs);
    }

    public interface BoolAt { boolean at(int b, int h, int q, int kv, int d); }

    public interface IntAt { int at(int b, int h, int q, int kv, int d); }

    public BoolAt bools(Expr e) {
        Evaluator.BoolFn f = evaluator.bools(e);
        return (b, h, q, kv, d) -> f.eval(at(b, h, q, kv, d));
    }

    public IntAt ints(Expr e) {
        Evaluator.IntFn f = evaluator.ints(e);
        return (b, h, q, kv, d) -> f.eval(at(b, h, q, kv, d));
    }

    private Evaluator.Env at(int b, int h, int q, int kv, int d) {
        env.b = b;
        env.h = h;
        env.q = q;
        env.kv = kv;
        env.d = d;
        return env;
    }
}
