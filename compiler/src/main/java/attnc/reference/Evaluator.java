package attnc.reference;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.ir.Semantics;
import attnc.ir.UnaryOp;
import attnc.launch.Binding;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns an expression into a tree of small closures over an {@link Env}, once per launch, so the
 * reference evaluates millions of elements without re-walking the IR. Sizes and params are
 * constants of the launch; floats are evaluated in double precision.
 */
final class Evaluator {
    /** The values an expression can see at one element. */
    static final class Env {
        int b, h, q, kv, d;
        double s, o;
        final int[] ints = new int[MAX_NESTED_LETS];
        final double[] floats = new double[MAX_NESTED_LETS];
        final boolean[] bools = new boolean[MAX_NESTED_LETS];
    }

    /** Lets in scope at once; derivative programs nest a let per shared subexpression. */
    private static final int MAX_NESTED_LETS = 256;

    interface IntFn { int eval(Env env); }
    interface FloatFn { double eval(Env env); }
    interface BoolFn { boolean eval(Env env); }

    private final Binding binding;
    private final Map<String, Tensor> inputs;
    /** The slot of each local name in scope while compiling; a let shadows an outer one of the same name only in its body. */
    private final Map<String, Integer> slots = new HashMap<>();
    /** What each enclosing let's name meant before it (null: nothing), restored when its body is compiled. */
    private final java.util.Deque<java.util.Map.Entry<String, Integer>> shadowed = new java.util.ArrayDeque<>();

    Evaluator(Binding binding, Map<String, Tensor> inputs) {
        this.binding = binding;
        this.inputs = inputs;
    }

    IntFn ints(Expr e) {
        return switch (e) {
            case Expr.IntLit(int v) -> env -> v;
            case Expr.IndexRef(Index i) -> switch (i) {
                case B -> env -> env.b;
                case H -> env -> env.h;
                case Q -> env -> env.q;
                case KV -> env -> env.kv;
                case D -> env -> env.d;
            };
            case Expr.SizeRef(String n) -> {
                int v = binding.size(n);
                yield env -> v;
            }
            case Expr.ParamRef p -> ints(param(p));
            case Expr.LocalRef(String n, var t) -> {
                int slot = slots.get(n);
                yield env -> env.ints[slot];
            }
            case Expr.Let let -> {
                Runnable1 bind = bind(let);
                IntFn body = ints(let.body());
                unbind();
                yield env -> { bind.run(env); return body.eval(env); };
            }
            case Expr.Unary(UnaryOp op, Expr x) -> {
                IntFn f = ints(x);
                yield op == UnaryOp.NEG ? env -> -f.eval(env) : env -> ~f.eval(env);
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> {
                IntFn a = ints(l), b = ints(r);
                yield switch (op) {
                    case ADD -> env -> a.eval(env) + b.eval(env);
                    case SUB -> env -> a.eval(env) - b.eval(env);
                    case MUL -> env -> a.eval(env) * b.eval(env);
                    default -> env -> Semantics.intBinary(op, a.eval(env), b.eval(env));
                };
            }
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                BoolFn cond = bools(c);
                IntFn x = ints(t), y = ints(f);
                yield env -> cond.eval(env) ? x.eval(env) : y.eval(env);
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> switch (fn) {
                case MIN -> { IntFn a = ints(args.get(0)), b = ints(args.get(1)); yield env -> Math.min(a.eval(env), b.eval(env)); }
                case MAX -> { IntFn a = ints(args.get(0)), b = ints(args.get(1)); yield env -> Math.max(a.eval(env), b.eval(env)); }
                case ABS -> { IntFn a = ints(args.get(0)); yield env -> Math.abs(a.eval(env)); }
                case BITLEN -> { IntFn a = ints(args.get(0)); yield env -> Semantics.bitlen(a.eval(env)); }
                case INT -> { FloatFn a = floats(args.get(0)); yield env -> Semantics.toInt(a.eval(env)); }
                default -> throw new IllegalStateException(fn + " does not give an int");
            };
            case Expr.Load load -> {
                Tensor t = inputs.get(load.input());
                Indexer at = indexer(load.input(), t, load.indices());
                yield env -> t.getInt(at.flat(env));
            }
            default -> throw new IllegalStateException("not an int expression: " + Printer.expr(e));
        };
    }

    FloatFn floats(Expr e) {
        return switch (e) {
            case Expr.FloatLit(double v) -> env -> v;
            case Expr.ScoreRef() -> env -> env.s;
            case Expr.OutputRef() -> env -> env.o;
            case Expr.ParamRef p -> floats(param(p));
            case Expr.LocalRef(String n, var t) -> {
                int slot = slots.get(n);
                yield env -> env.floats[slot];
            }
            case Expr.Let let -> {
                Runnable1 bind = bind(let);
                FloatFn body = floats(let.body());
                unbind();
                yield env -> { bind.run(env); return body.eval(env); };
            }
            case Expr.Unary(UnaryOp op, Expr x) -> {
                FloatFn f = floats(x);
                yield env -> -f.eval(env);
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> {
                FloatFn a = floats(l), b = floats(r);
                yield switch (op) {
                    case ADD -> env -> a.eval(env) + b.eval(env);
                    case SUB -> env -> a.eval(env) - b.eval(env);
                    case MUL -> env -> a.eval(env) * b.eval(env);
                    default -> env -> a.eval(env) / b.eval(env);
                };
            }
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                BoolFn cond = bools(c);
                FloatFn x = floats(t), y = floats(f);
                yield env -> cond.eval(env) ? x.eval(env) : y.eval(env);
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> switch (fn) {
                case FLOAT -> { IntFn a = ints(args.getFirst()); yield env -> a.eval(env); }
                case MIN -> { FloatFn a = floats(args.get(0)), b = floats(args.get(1)); yield env -> Math.min(a.eval(env), b.eval(env)); }
                case MAX -> { FloatFn a = floats(args.get(0)), b = floats(args.get(1)); yield env -> Math.max(a.eval(env), b.eval(env)); }
                default -> { FloatFn a = floats(args.getFirst()); yield env -> Semantics.floatCall(fn, a.eval(env)); }
            };
            case Expr.Load load -> {
                Tensor t = inputs.get(load.input());
                Indexer at = indexer(load.input(), t, load.indices());
                yield env -> t.getDouble(at.flat(env));
            }
            default -> throw new IllegalStateException("not a float expression: " + Printer.expr(e));
        };
    }

    BoolFn bools(Expr e) {
        return switch (e) {
            case Expr.BoolLit(boolean v) -> env -> v;
            case Expr.ParamRef p -> bools(param(p));
            case Expr.LocalRef(String n, var t) -> {
                int slot = slots.get(n);
                yield env -> env.bools[slot];
            }
            case Expr.Let let -> {
                Runnable1 bind = bind(let);
                BoolFn body = bools(let.body());
                unbind();
                yield env -> { bind.run(env); return body.eval(env); };
            }
            case Expr.Unary(UnaryOp op, Expr x) -> {
                BoolFn f = bools(x);
                yield env -> !f.eval(env);
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> switch (op) {
                case AND -> { BoolFn a = bools(l), b = bools(r); yield env -> a.eval(env) && b.eval(env); }
                case OR -> { BoolFn a = bools(l), b = bools(r); yield env -> a.eval(env) || b.eval(env); }
                default -> switch (l.type()) {
                    case INT -> { IntFn a = ints(l), b = ints(r); yield env -> Semantics.intCompare(op, a.eval(env), b.eval(env)); }
                    case FLOAT -> { FloatFn a = floats(l), b = floats(r); yield env -> Semantics.floatCompare(op, a.eval(env), b.eval(env)); }
                    case BOOL -> {
                        BoolFn a = bools(l), b = bools(r);
                        yield op == BinaryOp.EQ ? env -> a.eval(env) == b.eval(env) : env -> a.eval(env) != b.eval(env);
                    }
                };
            };
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                BoolFn cond = bools(c), x = bools(t), y = bools(f);
                yield env -> cond.eval(env) ? x.eval(env) : y.eval(env);
            }
            case Expr.Load load -> {
                Tensor t = inputs.get(load.input());
                Indexer at = indexer(load.input(), t, load.indices());
                yield env -> t.getInt(at.flat(env)) != 0;
            }
            case Expr.Member m -> {
                Tensor t = inputs.get(m.input());
                IntFn value = ints(m.value());
                Indexer row = indexer(m.input(), t, m.leading());
                int width = t.dim(t.rank() - 1);
                yield env -> {
                    int base = row.flat(env) * width;
                    int v = value.eval(env);
                    for (int i = 0; i < width; i++) if (t.getInt(base + i) == v) return true;
                    return false;
                };
            }
            default -> throw new IllegalStateException("not a bool expression: " + Printer.expr(e));
        };
    }

    /** The row-major offset of the element a load reads, checked against the tensor's bounds as the load itself is. */
    IntFn offset(Expr.Load load) {
        Indexer at = indexer(load.input(), inputs.get(load.input()), load.indices());
        return at::flat;
    }

    private interface Runnable1 { void run(Env env); }

    private interface Indexer { int flat(Env env); }

    private Runnable1 bind(Expr.Let let) {
        // Slots follow let nesting: a let's body runs inside it, so a sibling let may reuse the slot afterwards.
        int slot = shadowed.size();
        if (slot >= MAX_NESTED_LETS) throw new IllegalStateException("lets nested more than " + MAX_NESTED_LETS + " deep");
        // The value sees the names outside the let, so it is compiled before the name is rebound.
        Runnable1 store = switch (let.value().type()) {
            case INT -> { IntFn f = ints(let.value()); yield env -> env.ints[slot] = f.eval(env); }
            case FLOAT -> { FloatFn f = floats(let.value()); yield env -> env.floats[slot] = f.eval(env); }
            case BOOL -> { BoolFn f = bools(let.value()); yield env -> env.bools[slot] = f.eval(env); }
        };
        shadowed.push(new java.util.AbstractMap.SimpleEntry<>(let.name(), slots.get(let.name())));
        slots.put(let.name(), slot);
        return store;
    }

    private void unbind() {
        var outer = shadowed.pop();
        if (outer.getValue() == null) slots.remove(outer.getKey()); else slots.put(outer.getKey(), outer.getValue());
    }

    private Expr param(Expr.ParamRef p) {
        Expr value = binding.params().get(p.name());
        if (value == null) throw new ShapeException("param '" + p.name() + "' has no value");
        return value;
    }

    /** Row-major offset of the leading dimensions given; an index out of range is a clear error, not a wrong answer. */
    private Indexer indexer(String name, Tensor t, List<Expr> indices) {
        IntFn[] parts = new IntFn[indices.size()];
        for (int i = 0; i < parts.length; i++) parts[i] = ints(indices.get(i));
        int[] shape = t.shape();
        return env -> {
            int flat = 0;
            for (int i = 0; i < parts.length; i++) {
                int index = parts[i].eval(env);
                if (index < 0 || index >= shape[i]) {
                    throw new ShapeException("input '" + name + "': index " + index + " in dimension " + i + " is outside 0.." + (shape[i] - 1)
                            + " (at b=" + env.b + ", h=" + env.h + ", q=" + env.q + ", kv=" + env.kv + ")");
                }
                flat = flat * shape[i] + index;
            }
            return flat;
        };
    }
}
