package attnc.gen;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Semantics;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A test oracle for one expression at one point: a plain tree walk over {@link Semantics}, written
 * apart from the reference's closure compiler so that each checks the other. Values are
 * Integer, Double or Boolean, compared with equals (NaN equals NaN, 0.0 differs from -0.0). Lets bind lexically (an inner let of the same name shadows the outer
 * one only inside its body); {@code ?:} evaluates only the branch taken; a load out of bounds is an error.
 */
public final class ScalarEvaluator {
    private final Map<String, Integer> sizes;
    private final Map<String, Expr> params;
    private final Map<String, Tensor> inputs;

    public ScalarEvaluator(Map<String, Integer> sizes, Map<String, Expr> params, Map<String, Tensor> inputs) {
        this.sizes = sizes;
        this.params = params;
        this.inputs = inputs;
    }

    public static ScalarEvaluator of(Binding binding, Map<String, Tensor> inputs) {
        return new ScalarEvaluator(binding.sizes(), binding.params(), inputs);
    }

    public Object eval(Expr e, Point at) {
        return eval(e, at, Map.of());
    }

    private Object eval(Expr e, Point at, Map<String, Object> locals) {
        return switch (e) {
            case Expr.IntLit(int v) -> v;
            case Expr.FloatLit(double v) -> v;
            case Expr.BoolLit(boolean v) -> v;
            case Expr.IndexRef r -> switch (r.index()) {
                case B -> at.b();
                case H -> at.h();
                case Q -> at.q();
                case KV -> at.kv();
                case D -> at.d();
            };
            case Expr.SizeRef(String name) -> required(sizes.get(name), "size " + name);
            case Expr.ParamRef(String name, Type type) -> {
                Object value = eval(required(params.get(name), "param " + name), at, Map.of());
                yield type == Type.FLOAT && value instanceof Integer i ? (Object) (double) i : value;
            }
            case Expr.ScoreRef s -> at.s();
            case Expr.OutputRef o -> at.o();
            case Expr.LocalRef(String name, Type type) -> required(locals.get(name), "local " + name);
            case Expr.Let(String name, Expr value, Expr body) -> {
                Map<String, Object> inner = new HashMap<>(locals);
                inner.put(name, eval(value, at, locals));
                yield eval(body, at, inner);
            }
            case Expr.Unary(UnaryOp op, Expr x) -> {
                Object v = eval(x, at, locals);
                yield switch (op) {
                    case NOT -> !(Boolean) v;
                    case BIT_NOT -> ~(Integer) v;
                    case NEG -> v instanceof Integer i ? (Object) (-i) : (Object) (-(Double) v);
                };
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> binary(op, l, r, at, locals);
            case Expr.Conditional(Expr c, Expr t, Expr f) -> (Boolean) eval(c, at, locals) ? eval(t, at, locals) : eval(f, at, locals);
            case Expr.Call(Builtin fn, List<Expr> args) -> call(fn, args.stream().map(a -> eval(a, at, locals)).toList());
            case Expr.Load load -> {
                Tensor t = required(inputs.get(load.input()), "input " + load.input());
                int flat = flatIndex(t, load.indices(), at, locals);
                yield switch (load.dtype().loadsAs()) {
                    case FLOAT -> (Object) (double) t.floats()[flat];
                    case INT -> t.ints()[flat];
                    case BOOL -> t.ints()[flat] != 0;
                };
            }
            case Expr.Member m -> {
                Tensor t = required(inputs.get(m.input()), "input " + m.input());
                int value = (Integer) eval(m.value(), at, locals);
                int width = t.dim(t.rank() - 1);
                int row = flatIndex(t, m.leading(), at, locals) * width;
                boolean found = false;
                for (int i = 0; i < width; i++) found |= t.ints()[row + i] == value;
                yield found;
            }
        };
    }

    private Object binary(BinaryOp op, Expr l, Expr r, Point at, Map<String, Object> locals) {
        if (op == BinaryOp.AND) return (Boolean) eval(l, at, locals) && (Boolean) eval(r, at, locals);
        if (op == BinaryOp.OR) return (Boolean) eval(l, at, locals) || (Boolean) eval(r, at, locals);
        Object a = eval(l, at, locals), b = eval(r, at, locals);
        return switch (a) {
            case Integer x when op.yieldsBool() -> Semantics.intCompare(op, x, (Integer) b);
            case Integer x -> Semantics.intBinary(op, x, (Integer) b);
            case Double x when op.yieldsBool() -> Semantics.floatCompare(op, x, (Double) b);
            case Double x -> Semantics.floatBinary(op, x, (Double) b);
            case Boolean x -> op == BinaryOp.EQ ? x.equals(b) : !x.equals(b);
            default -> throw new IllegalStateException("value " + a);
        };
    }

    private static Object call(Builtin fn, List<Object> args) {
        Object first = args.getFirst();
        return switch (fn) {
            case FLOAT -> (double) (Integer) first;
            case INT -> Semantics.toInt((Double) first);
            case BITLEN -> Semantics.bitlen((Integer) first);
            case MIN -> first instanceof Integer a ? (Object) Math.min(a, (Integer) args.get(1)) : (Object) Math.min((Double) first, (Double) args.get(1));
            case MAX -> first instanceof Integer a ? (Object) Math.max(a, (Integer) args.get(1)) : (Object) Math.max((Double) first, (Double) args.get(1));
            case ABS -> first instanceof Integer a ? (Object) Math.abs(a) : (Object) Math.abs((Double) first);
            default -> Semantics.floatCall(fn, (Double) first);
        };
    }

    private int flatIndex(Tensor t, List<Expr> indices, Point at, Map<String, Object> locals) {
        int flat = 0;
        for (int i = 0; i < indices.size(); i++) {
            int index = (Integer) eval(indices.get(i), at, locals);
            if (index < 0 || index >= t.dim(i)) throw new IllegalStateException("index " + index + " outside dimension " + i + " of " + t.shapeText());
            flat = flat * t.dim(i) + index;
        }
        return flat;
    }

    private static <T> T required(T value, String what) {
        if (value == null) throw new IllegalStateException("no value for " + what);
        return value;
    }
}
