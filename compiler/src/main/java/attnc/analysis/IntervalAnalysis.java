package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bounds of a boolean expression over a {@link Box}: compiled once (sizes and params of the launch
 * are constants, lets become slots) into a tree of small closures, then evaluated per box in time
 * proportional to the expression, never to the box's size.
 *
 * <p>Ints carry a range and a linear form in q and kv ({@link IntBound}); floats a range and a
 * NaN flag ({@link FloatBound}); booleans are three-valued with linear constraints
 * ({@link BoolBound}). Loads and {@code in} ask a {@link DataBounds}.
 */
final class IntervalAnalysis {

    private interface IntNode { IntBound eval(Frame f); }
    private interface FloatNode { FloatBound eval(Frame f); }
    private interface BoolNode { BoolBound eval(Frame f); }

    /** One evaluation: the box and the bounds of the lets in scope. */
    private record Frame(Box box, Object[] locals) {}

    private final Map<String, Integer> sizes;
    private final Map<String, Expr> params;
    private final DataBounds data;
    private final boolean relational;
    private final Map<String, Deque<Integer>> scopes = new HashMap<>();
    private int slotCount;
    private final BoolNode root;

    private IntervalAnalysis(Expr visibility, Map<String, Integer> sizes, Map<String, Expr> params, DataBounds data, boolean relational) {
        this.sizes = sizes;
        this.params = params;
        this.data = data;
        this.relational = relational;
        this.root = bools(visibility);
    }

    /**
     * Compiles a boolean expression; sizes and params are the launch's, absent ones are unknown.
     * With {@code relational} false, q and kv are plain intervals (no linear forms, no
     * constraints): kept only to measure what the relational part buys.
     */
    static IntervalAnalysis of(Expr visibility, Map<String, Integer> sizes, Map<String, Expr> params, DataBounds data, boolean relational) {
        if (visibility.type() != Type.BOOL) throw new IllegalArgumentException("not a boolean expression: " + Printer.expr(visibility));
        return new IntervalAnalysis(visibility, sizes, params, data, relational);
    }

    BoolBound evaluate(Box box) {
        return root.eval(new Frame(box, new Object[slotCount]));
    }

    private IntNode ints(Expr e) {
        return switch (e) {
            case Expr.IntLit(int v) -> { IntBound c = IntBound.constant(v); yield f -> c; }
            case Expr.IndexRef(Index i) -> switch (i) {
                case Q -> relational ? f -> IntBound.of(f.box.qLo(), f.box.qHi(), 1, 0, 0, 0, f.box)
                        : f -> IntBound.range(f.box.qLo(), f.box.qHi());
                case KV -> relational ? f -> IntBound.of(f.box.kvLo(), f.box.kvHi(), 0, 1, 0, 0, f.box)
                        : f -> IntBound.range(f.box.kvLo(), f.box.kvHi());
                case B -> f -> IntBound.range(f.box.bLo(), f.box.bHi());
                case H -> f -> IntBound.range(f.box.hLo(), f.box.hHi());
                // d is the output channel, 0..Dv-1, when the launch's Dv is known.
                case D -> {
                    IntBound channels = sizes.getOrDefault("Dv", 0) > 0 ? IntBound.range(0, sizes.get("Dv") - 1L) : IntBound.TOP;
                    yield f -> channels;
                }
            };
            case Expr.SizeRef(String n) -> {
                IntBound c = sizes.containsKey(n) ? IntBound.constant(sizes.get(n)) : IntBound.TOP;
                yield f -> c;
            }
            case Expr.ParamRef p -> params.get(p.name()) instanceof Expr.IntLit lit ? ints(lit) : f -> IntBound.TOP;
            case Expr.LocalRef(String n, Type t) -> { int slot = slotOf(n); yield f -> (IntBound) f.locals[slot]; }
            case Expr.Let let -> let(let, this::ints);
            case Expr.Unary(UnaryOp op, Expr x) -> {
                IntNode a = ints(x);
                yield op == UnaryOp.NEG ? f -> IntOps.negate(a.eval(f), f.box) : f -> IntOps.bitNot(a.eval(f), f.box);
            }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> {
                IntNode a = ints(l), b = ints(r);
                yield f -> IntOps.binary(op, a.eval(f), b.eval(f), f.box);
            }
            case Expr.Conditional(Expr c, Expr t, Expr fl) -> {
                BoolNode cond = bools(c);
                IntNode x = ints(t), y = ints(fl);
                yield f -> {
                    BoolBound k = cond.eval(f);
                    if (!k.canFalse()) return x.eval(f);
                    if (!k.canTrue()) return y.eval(f);
                    return hull(x.eval(f), y.eval(f), f.box);
                };
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> switch (fn) {
                case MIN -> { IntNode a = ints(args.get(0)), b = ints(args.get(1)); yield f -> IntOps.min(a.eval(f), b.eval(f), f.box); }
                case MAX -> { IntNode a = ints(args.get(0)), b = ints(args.get(1)); yield f -> IntOps.max(a.eval(f), b.eval(f), f.box); }
                case ABS -> { IntNode a = ints(args.getFirst()); yield f -> IntOps.abs(a.eval(f), f.box); }
                case BITLEN -> { IntNode a = ints(args.getFirst()); yield f -> IntOps.bitlen(a.eval(f)); }
                case INT -> { FloatNode a = floats(args.getFirst()); yield f -> FloatOps.toInt(a.eval(f)); }
                default -> throw new IllegalStateException(fn + " does not give an int");
            };
            case Expr.Load load -> {
                IntNode[] at = indexNodes(load.indices());
                String input = load.input();
                yield f -> data.intLoad(input, evalAll(at, f));
            }
            default -> f -> IntBound.TOP;
        };
    }

    private FloatNode floats(Expr e) {
        return switch (e) {
            case Expr.FloatLit(double v) -> { FloatBound c = FloatBound.constant(v); yield f -> c; }
            case Expr.ParamRef p -> switch (params.get(p.name())) {
                case Expr.FloatLit lit -> floats(lit);
                case Expr.IntLit(int v) -> floats(new Expr.FloatLit(v));
                case null, default -> f -> FloatBound.TOP;
            };
            case Expr.LocalRef(String n, Type t) -> { int slot = slotOf(n); yield f -> (FloatBound) f.locals[slot]; }
            case Expr.Let let -> let(let, this::floats);
            case Expr.Unary(UnaryOp op, Expr x) -> { FloatNode a = floats(x); yield f -> FloatOps.negate(a.eval(f)); }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> {
                FloatNode a = floats(l), b = floats(r);
                yield f -> FloatOps.binary(op, a.eval(f), b.eval(f));
            }
            case Expr.Conditional(Expr c, Expr t, Expr fl) -> {
                BoolNode cond = bools(c);
                FloatNode x = floats(t), y = floats(fl);
                yield f -> {
                    BoolBound k = cond.eval(f);
                    if (!k.canFalse()) return x.eval(f);
                    if (!k.canTrue()) return y.eval(f);
                    FloatBound u = x.eval(f), v = y.eval(f);
                    return new FloatBound(Math.min(u.lo(), v.lo()), Math.max(u.hi(), v.hi()), u.maybeNaN() || v.maybeNaN());
                };
            }
            case Expr.Call(Builtin fn, List<Expr> args) -> switch (fn) {
                case FLOAT -> { IntNode a = ints(args.getFirst()); yield f -> FloatOps.fromInt(a.eval(f)); }
                case MIN -> { FloatNode a = floats(args.get(0)), b = floats(args.get(1)); yield f -> FloatOps.min(a.eval(f), b.eval(f)); }
                case MAX -> { FloatNode a = floats(args.get(0)), b = floats(args.get(1)); yield f -> FloatOps.max(a.eval(f), b.eval(f)); }
                case ABS -> { FloatNode a = floats(args.getFirst()); yield f -> FloatOps.abs(a.eval(f)); }
                default -> { FloatNode a = floats(args.getFirst()); yield f -> FloatOps.monotone(fn, a.eval(f)); }
            };
            case Expr.Load load -> {
                IntNode[] at = indexNodes(load.indices());
                String input = load.input();
                yield f -> data.floatLoad(input, evalAll(at, f));
            }
            default -> f -> FloatBound.TOP;
        };
    }

    private BoolNode bools(Expr e) {
        return switch (e) {
            case Expr.BoolLit(boolean v) -> { BoolBound c = BoolBound.constant(v); yield f -> c; }
            case Expr.ParamRef p -> params.get(p.name()) instanceof Expr.BoolLit lit ? bools(lit) : f -> BoolBound.UNKNOWN;
            case Expr.LocalRef(String n, Type t) -> { int slot = slotOf(n); yield f -> (BoolBound) f.locals[slot]; }
            case Expr.Let let -> let(let, this::bools);
            case Expr.Unary(UnaryOp op, Expr x) -> { BoolNode a = bools(x); yield f -> a.eval(f).not(); }
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> binaryBool(op, l, r);
            case Expr.Conditional(Expr c, Expr t, Expr fl) -> {
                BoolNode cond = bools(c), x = bools(t), y = bools(fl);
                yield f -> BoolBound.select(cond.eval(f), x.eval(f), y.eval(f), f.box);
            }
            case Expr.Load load -> {
                IntNode[] at = indexNodes(load.indices());
                String input = load.input();
                yield f -> {
                    IntBound v = data.intLoad(input, evalAll(at, f));
                    return BoolBound.of(v.lo() != 0 || v.hi() != 0, v.lo() <= 0 && v.hi() >= 0);
                };
            }
            case Expr.Member m -> {
                IntNode value = ints(m.value());
                IntNode[] leading = indexNodes(m.leading());
                String input = m.input();
                yield f -> data.member(input, value.eval(f), evalAll(leading, f));
            }
            default -> f -> BoolBound.UNKNOWN;
        };
    }

    private BoolNode binaryBool(BinaryOp op, Expr l, Expr r) {
        if (op == BinaryOp.AND || op == BinaryOp.OR) {
            BoolNode a = bools(l), b = bools(r);
            return op == BinaryOp.AND ? f -> a.eval(f).and(b.eval(f), f.box) : f -> a.eval(f).or(b.eval(f), f.box);
        }
        if (comparedLoads(new Expr.Binary(op, l, r)) instanceof Expr.Load[] loads) return loadEquality(op, loads[0], loads[1]);
        return switch (l.type()) {
            case INT -> { IntNode a = ints(l), b = ints(r); yield f -> Comparisons.ints(op, a.eval(f), b.eval(f), f.box); }
            case FLOAT -> { FloatNode a = floats(l), b = floats(r); yield f -> Comparisons.floats(op, a.eval(f), b.eval(f)); }
            case BOOL -> {
                BoolNode a = bools(l), b = bools(r);
                yield op == BinaryOp.EQ ? f -> BoolBound.equal(a.eval(f), b.eval(f), f.box)
                        : f -> BoolBound.equal(a.eval(f), b.eval(f), f.box).not();
            }
        };
    }

    /** The two int32 loads of {@code a == b} or {@code a != b} (document ids of q and kv), or null. */
    static Expr.Load[] comparedLoads(Expr e) {
        if (e instanceof Expr.Binary(BinaryOp op, Expr.Load a, Expr.Load b) && (op == BinaryOp.EQ || op == BinaryOp.NE)
                && a.dtype() == attnc.ir.DType.INT32 && b.dtype() == attnc.ir.DType.INT32) {
            return new Expr.Load[] {a, b};
        }
        return null;
    }

    /** Ranges first; then, if each side holds few distinct values and they share none, never equal. */
    private BoolNode loadEquality(BinaryOp op, Expr.Load left, Expr.Load right) {
        IntNode a = ints(left), b = ints(right);
        IntNode[] at = indexNodes(left.indices()), bt = indexNodes(right.indices());
        return f -> {
            BoolBound equal = Comparisons.ints(BinaryOp.EQ, a.eval(f), b.eval(f), f.box);
            if (equal.canTrue() && disjoint(data.distinct(left.input(), evalAll(at, f)), data.distinct(right.input(), evalAll(bt, f)))) {
                equal = BoolBound.constant(false);
            }
            return op == BinaryOp.EQ ? equal : equal.not();
        };
    }

    private static boolean disjoint(int[] x, int[] y) {
        if (x == null || y == null) return false;
        int i = 0, j = 0;
        while (i < x.length && j < y.length) {
            if (x[i] == y[j]) return false;
            if (x[i] < y[j]) i++;
            else j++;
        }
        return true;
    }

    /** Two branches joined: ranges hulled; the form kept when both branches share its direction. */
    private static IntBound hull(IntBound x, IntBound y, Box box) {
        long lo = Math.min(x.lo(), y.lo()), hi = Math.max(x.hi(), y.hi());
        if (x.cq() == y.cq() && x.ckv() == y.ckv()) {
            return IntBound.of(lo, hi, x.cq(), x.ckv(), Math.min(x.rlo(), y.rlo()), Math.max(x.rhi(), y.rhi()), box);
        }
        return IntBound.range(lo, hi);
    }

    /** A let's value is evaluated once into its slot; the body sees it through LocalRefs. */
    private <N> N let(Expr.Let let, java.util.function.Function<Expr, N> compileBody) {
        Object valueNode = switch (let.value().type()) {
            case INT -> ints(let.value());
            case FLOAT -> floats(let.value());
            case BOOL -> bools(let.value());
        };
        int slot = slotCount++;
        scopes.computeIfAbsent(let.name(), n -> new ArrayDeque<>()).push(slot);
        N body = compileBody.apply(let.body());
        scopes.get(let.name()).pop();
        return wrapLet(let.body().type(), slot, valueNode, body);
    }

    @SuppressWarnings("unchecked")
    private static <N> N wrapLet(Type bodyType, int slot, Object valueNode, N body) {
        java.util.function.Consumer<Frame> bind = switch (valueNode) {
            case IntNode v -> f -> f.locals[slot] = v.eval(f);
            case FloatNode v -> f -> f.locals[slot] = v.eval(f);
            case BoolNode v -> f -> f.locals[slot] = v.eval(f);
            default -> throw new IllegalStateException();
        };
        return (N) switch (bodyType) {
            case INT -> (IntNode) f -> { bind.accept(f); return ((IntNode) body).eval(f); };
            case FLOAT -> (FloatNode) f -> { bind.accept(f); return ((FloatNode) body).eval(f); };
            case BOOL -> (BoolNode) f -> { bind.accept(f); return ((BoolNode) body).eval(f); };
        };
    }

    private int slotOf(String name) {
        Deque<Integer> scope = scopes.get(name);
        if (scope == null || scope.isEmpty()) throw new IllegalStateException("unbound local " + name);
        return scope.peek();
    }

    private IntNode[] indexNodes(List<Expr> indices) {
        List<IntNode> nodes = new ArrayList<>();
        for (Expr i : indices) nodes.add(ints(i));
        return nodes.toArray(IntNode[]::new);
    }

    private static IntBound[] evalAll(IntNode[] nodes, Frame f) {
        IntBound[] out = new IntBound[nodes.length];
        for (int i = 0; i < nodes.length; i++) out[i] = nodes[i].eval(f);
        return out;
    }
}
