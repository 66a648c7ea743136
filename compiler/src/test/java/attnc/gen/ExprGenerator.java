package attnc.gen;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import attnc.pass.FoldConstants;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Random, well-typed expressions in the exact form the checker produces: operands of arithmetic
 * and comparisons agree (an int meets a float only through {@code float(...)}), no
 * {@code float()} of a float or {@code int()} of an int, no division by a zero literal or any
 * int operation on constants that overflows (the checker refuses both), and
 * every tensor index stays in bounds (a matching index variable, or {@code e % size}), so the
 * expressions can be evaluated as well as printed.
 */
public final class ExprGenerator {
    private static final BinaryOp[] INT_OPS = {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.MOD,
            BinaryOp.SHL, BinaryOp.SHR, BinaryOp.BIT_AND, BinaryOp.BIT_OR, BinaryOp.BIT_XOR};
    private static final BinaryOp[] FLOAT_OPS = {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV};
    private static final BinaryOp[] COMPARISONS = {BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE};
    private static final Builtin[] FLOAT_FUNCTIONS = {Builtin.EXP, Builtin.LOG, Builtin.LOG2, Builtin.SQRT, Builtin.TANH,
            Builtin.SIGMOID, Builtin.FLOOR};

    /** A local in scope; for a float, how its value rounds ({@link Rounding#of}), so TAME steps use only exact ones. */
    private record Local(String name, Type type, Rounding rounding) {}

    private final Random random;
    private final Declarations declarations;
    private final Place place;
    private final Style style;
    private final List<Local> locals = new ArrayList<>();
    /** Subtrees made so far (free of locals), reused now and then so that common subexpressions occur. */
    private final List<Expr> made = new ArrayList<>();
    private int nextLocal;

    public ExprGenerator(Random random, Declarations declarations, Place place, Style style) {
        this.random = random;
        this.declarations = declarations;
        this.place = place;
        this.style = style;
    }

    /** An expression of the given type, at most {@code depth} operations deep. */
    public Expr of(Type type, int depth) {
        Expr e = fresh(type, depth);
        if (!ExprTree.any(e, x -> x instanceof Expr.LocalRef)) made.add(e);
        return e;
    }

    private Expr fresh(Type type, int depth) {
        if (random.nextInt(6) == 0) {
            List<Expr> reusable = made.stream().filter(e -> e.type() == type).toList();
            if (!reusable.isEmpty()) return pick(reusable);
        }
        if (depth <= 0 || random.nextInt(5) == 0) return leaf(type);
        return switch (type) {
            case INT -> foldable(intNode(depth - 1));
            case FLOAT -> floatNode(depth - 1);
            case BOOL -> boolNode(depth - 1);
        };
    }

    /**
     * The checker refuses int operations on constants that overflow int32 or divide by zero (a
     * compile error, not a wrapped constant), so such a node becomes a leaf; wrapping still
     * happens wherever an operand is not constant (an index, a size, a load), at run time.
     */
    private Expr foldable(Expr node) {
        try {
            FoldConstants.foldChecked(node, Map.of());
            return node;
        } catch (FoldConstants.FoldException refused) {
            return leaf(Type.INT);
        }
    }

    // ---- leaves ------------------------------------------------------------------------

    private Expr leaf(Type type) {
        List<Supplier<Expr>> options = new ArrayList<>();
        switch (type) {
            case INT -> {
                options.add(this::intLiteral);
                options.add(this::intLiteral);
                for (Index i : Index.values()) if (indexAvailable(i)) options.add(() -> new Expr.IndexRef(i));
                options.add(() -> new Expr.SizeRef(pick(declarations.sizes())));
            }
            case FLOAT -> {
                options.add(this::floatLiteral);
                options.add(() -> toFloat(leaf(Type.INT)));
                if (place.hasScore()) for (int i = 0; i < 3; i++) options.add(Expr.ScoreRef::new);
                if (place.hasOutput()) for (int i = 0; i < 3; i++) options.add(Expr.OutputRef::new);
            }
            case BOOL -> options.add(() -> new Expr.BoolLit(random.nextBoolean()));
        }
        for (Param p : declarations.params()) if (p.type() == type) options.add(() -> new Expr.ParamRef(p.name(), p.type()));
        for (Local l : visibleLocals(type)) {
            options.add(() -> new Expr.LocalRef(l.name(), l.type()));
            options.add(() -> new Expr.LocalRef(l.name(), l.type()));
        }
        for (Input input : declarations.inputs()) if (input.dtype().loadsAs() == type) options.add(() -> load(input, 0));
        return pick(options).get();
    }

    private Expr intLiteral() {
        return switch (style == Style.TAME ? 9 : random.nextInt(10)) {
            case 0 -> new Expr.IntLit(random.nextInt());
            case 1 -> new Expr.IntLit(pick(List.of(Integer.MIN_VALUE, Integer.MAX_VALUE, 1 << 20, -1, 31, 32)));
            default -> new Expr.IntLit(random.nextInt(24) - 8);
        };
    }

    private Expr floatLiteral() {
        if (style == Style.TAME) return new Expr.FloatLit(Math.round(random.nextGaussian() * 1000) / 1000.0);
        return switch (random.nextInt(8)) {
            case 0 -> new Expr.FloatLit(pick(List.of(0.0, -0.0, 1.0, 0.5, -1.0, 1e-3, 1e10, -2.5e-7)));
            case 1 -> new Expr.FloatLit(random.nextInt(17) - 8);
            default -> new Expr.FloatLit(random.nextGaussian() * 4);
        };
    }

    private boolean indexAvailable(Index i) {
        return switch (i) {
            case KV -> place.perKey();
            case D -> place.hasOutput();
            default -> true;
        };
    }

    /** The innermost binding of each local name, when it has the wanted type (shadowed ones are out of reach). */
    private List<Local> visibleLocals(Type type) {
        List<Local> visible = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        for (int i = locals.size() - 1; i >= 0; i--) {
            Local l = locals.get(i);
            if (seen.contains(l.name())) continue;
            seen.add(l.name());
            if (l.type() == type) visible.add(l);
        }
        return visible;
    }

    // ---- operations --------------------------------------------------------------------

    private Expr intNode(int depth) {
        return switch (random.nextInt(10)) {
            case 0, 1, 2 -> {
                BinaryOp op = pick(List.of(INT_OPS));
                yield new Expr.Binary(op, of(Type.INT, depth), divisor(op, of(Type.INT, depth)));
            }
            case 3 -> new Expr.Unary(random.nextBoolean() ? UnaryOp.NEG : UnaryOp.BIT_NOT, of(Type.INT, depth));
            case 4 -> new Expr.Call(random.nextBoolean() ? Builtin.MIN : Builtin.MAX, List.of(of(Type.INT, depth), of(Type.INT, depth)));
            case 5 -> new Expr.Call(pick(List.of(Builtin.ABS, Builtin.BITLEN)), List.of(of(Type.INT, depth)));
            case 6 -> new Expr.Call(Builtin.INT, List.of(stepOperand(depth)));
            case 7 -> new Expr.Conditional(of(Type.BOOL, depth), of(Type.INT, depth), of(Type.INT, depth));
            case 8 -> let(Type.INT, depth);
            default -> loadOr(Type.INT, depth);
        };
    }

    private Expr floatNode(int depth) {
        return switch (random.nextInt(10)) {
            case 0, 1, 2 -> floatBinary(pick(List.of(FLOAT_OPS)), of(Type.FLOAT, depth), of(Type.FLOAT, depth));
            case 3 -> new Expr.Unary(UnaryOp.NEG, of(Type.FLOAT, depth));
            case 4 -> new Expr.Call(pick(List.of(Builtin.MIN, Builtin.MAX)), List.of(of(Type.FLOAT, depth), of(Type.FLOAT, depth)));
            case 5 -> {
                Builtin fn = random.nextInt(4) == 0 ? Builtin.ABS : pick(List.of(FLOAT_FUNCTIONS));
                yield floatCall(fn, fn == Builtin.FLOOR ? stepOperand(depth) : of(Type.FLOAT, depth));
            }
            case 6 -> toFloat(of(Type.INT, depth));
            case 7 -> new Expr.Conditional(of(Type.BOOL, depth), of(Type.FLOAT, depth), of(Type.FLOAT, depth));
            case 8 -> let(Type.FLOAT, depth);
            default -> loadOr(Type.FLOAT, depth);
        };
    }

    private Expr boolNode(int depth) {
        return switch (random.nextInt(11)) {
            case 0, 1 -> new Expr.Binary(pick(List.of(COMPARISONS)), of(Type.INT, depth), of(Type.INT, depth));
            case 2 -> new Expr.Binary(pick(List.of(COMPARISONS)), stepOperand(depth), stepOperand(depth));
            case 3 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.EQ : BinaryOp.NE, of(Type.BOOL, depth), of(Type.BOOL, depth));
            case 4, 5 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.AND : BinaryOp.OR, of(Type.BOOL, depth), of(Type.BOOL, depth));
            case 6 -> new Expr.Unary(UnaryOp.NOT, of(Type.BOOL, depth));
            case 7 -> new Expr.Conditional(of(Type.BOOL, depth), of(Type.BOOL, depth), of(Type.BOOL, depth));
            case 8 -> let(Type.BOOL, depth);
            case 9 -> member(depth);
            default -> loadOr(Type.BOOL, depth);
        };
    }

    private Expr floatBinary(BinaryOp op, Expr left, Expr right) {
        if (style == Style.TAME && op == BinaryOp.DIV) return new Expr.Binary(op, left, atLeastOne(right));
        if (style == Style.TAME && op == BinaryOp.MUL) return new Expr.Binary(op, left, new Expr.Call(Builtin.TANH, List.of(right)));
        return new Expr.Binary(op, left, divisor(op, right));
    }

    private Expr floatCall(Builtin fn, Expr arg) {
        if (style != Style.TAME) return new Expr.Call(fn, List.of(arg));
        return switch (fn) {
            case EXP -> new Expr.Call(fn, List.of(new Expr.Call(Builtin.TANH, List.of(arg))));
            case LOG, LOG2, SQRT -> new Expr.Call(fn, List.of(atLeastOne(arg)));
            default -> new Expr.Call(fn, List.of(arg));
        };
    }

    /** {@code abs(x) + 1.0}: never below one, so tame logs, roots and quotients stay finite. */
    private static Expr atLeastOne(Expr x) {
        return new Expr.Binary(BinaryOp.ADD, new Expr.Call(Builtin.ABS, List.of(x)), new Expr.FloatLit(1.0));
    }

    /** {@code float(i)}, or {@code float(i % 16)} when tame, as int arithmetic wraps to huge values. */
    private Expr toFloat(Expr i) {
        boolean small = i instanceof Expr.IntLit || i instanceof Expr.IndexRef || i instanceof Expr.SizeRef;
        Expr value = style == Style.TAME && !small ? new Expr.Binary(BinaryOp.MOD, i, new Expr.IntLit(16)) : i;
        return new Expr.Call(Builtin.FLOAT, List.of(value));
    }

    /** The checker rejects a zero literal divisor; anything else divides (ints by zero give 0). */
    private Expr divisor(BinaryOp op, Expr right) {
        if (op != BinaryOp.DIV && op != BinaryOp.MOD) return right;
        if (right instanceof Expr.IntLit(int v) && v == 0) return new Expr.IntLit(1 + random.nextInt(7));
        if (right instanceof Expr.FloatLit(double v) && v == 0.0) return new Expr.FloatLit(0.5);
        return right;
    }

    /** {@code (let x = value; body)}: a fresh name mostly, now and then one that shadows a local in scope. */
    private Expr let(Type type, int depth) {
        Expr value = of(pick(List.of(Type.values())), depth);
        String name = !locals.isEmpty() && random.nextInt(4) == 0 ? pick(locals).name() : "x" + nextLocal++;
        locals.add(new Local(name, value.type(), Rounding.of(value, localRoundings())));
        try {
            return new Expr.Let(name, value, of(type, depth));
        } finally {
            locals.removeLast();
        }
    }

    // ---- operands of steps (TAME) --------------------------------------------------------

    /*
     * A float comparison, floor and int() are steps: the kernels compute in fp32, the reference in
     * double, and where the two round an operand differently a value at or next to the step is
     * decided differently. Random data rarely lands there, but values made from indices do, at whole
     * rows and columns: fp32 tanh reaches 1.0 from 9 and double tanh from 19, so
     * `float(q) * tanh(float(q)) != float(q)` hides keys for q in 9..19 that the reference keeps.
     * So in TAME a step's operand is exact: a stored value (a float input's element, a float param,
     * both fp32 numbers) or a value on the grid of eighths (float of a small int, k / 8 literals,
     * and +, -, *2, *0.5, *-1 of those), joined by neg, abs, min, max, floor and ?: — operations
     * that round nothing while a grid value needs at most 24 bits (positions in the hundreds, a few
     * levels of sums and halvings: about 20). fp32 and double then compute the same number, and a
     * tie (which grid values reach on purpose) is decided alike. The rounding operations (exp, log,
     * tanh, division, the dot product s, the sum o) stay everywhere else: scores and outputs are
     * continuous and held to a tolerance; GeneratorsTest checks the operands value by value.
     */

    /** An operand of a comparison of floats, floor or int(): any float in ANY, an exact one in TAME. */
    private Expr stepOperand(int depth) {
        return style == Style.TAME ? exact(depth) : of(Type.FLOAT, depth);
    }

    /** A float that fp32 and double compute alike: on the grid, or stored values joined by operations that round nothing. */
    private Expr exact(int depth) {
        if (depth <= 0 || random.nextInt(3) == 0) return random.nextBoolean() ? storedLeaf() : grid(0);
        return switch (random.nextInt(5)) {
            case 0 -> random.nextBoolean() ? new Expr.Unary(UnaryOp.NEG, exact(depth - 1)) : new Expr.Call(Builtin.ABS, List.of(exact(depth - 1)));
            case 1 -> new Expr.Call(random.nextBoolean() ? Builtin.MIN : Builtin.MAX, List.of(exact(depth - 1), exact(depth - 1)));
            case 2 -> new Expr.Conditional(of(Type.BOOL, depth - 1), exact(depth - 1), exact(depth - 1));
            default -> grid(depth);
        };
    }

    /** A multiple of 1/8 computed without rounding: see the comment above {@link #stepOperand}. */
    private Expr grid(int depth) {
        if (random.nextInt(6) == 0) {
            List<Expr> reusable = made.stream().filter(e -> Rounding.of(e, Map.of()) == Rounding.GRID).toList();
            if (!reusable.isEmpty()) return pick(reusable);
        }
        if (depth <= 0 || random.nextInt(5) == 0) {
            List<Supplier<Expr>> options = new ArrayList<>(List.of(
                    () -> new Expr.FloatLit((random.nextInt(129) - 64) / 8.0), () -> toFloat(leaf(Type.INT)), () -> toFloat(leaf(Type.INT))));
            for (Local l : visibleLocals(Type.FLOAT)) if (l.rounding() == Rounding.GRID) options.add(() -> new Expr.LocalRef(l.name(), l.type()));
            return pick(options).get();
        }
        return switch (random.nextInt(8)) {
            case 0, 1 -> new Expr.Binary(random.nextBoolean() ? BinaryOp.ADD : BinaryOp.SUB, grid(depth - 1), grid(depth - 1));
            case 2 -> new Expr.Binary(BinaryOp.MUL, grid(depth - 1), new Expr.FloatLit(pick(Rounding.GRID_FACTORS)));
            case 3 -> random.nextBoolean() ? new Expr.Unary(UnaryOp.NEG, grid(depth - 1)) : new Expr.Call(Builtin.ABS, List.of(grid(depth - 1)));
            case 4 -> new Expr.Call(random.nextBoolean() ? Builtin.MIN : Builtin.MAX, List.of(grid(depth - 1), grid(depth - 1)));
            case 5 -> new Expr.Call(Builtin.FLOOR, List.of(exact(depth - 1)));
            case 6 -> toFloat(of(Type.INT, depth - 1));
            default -> new Expr.Conditional(of(Type.BOOL, depth - 1), grid(depth - 1), grid(depth - 1));
        };
    }

    /** A float input's element, a float param or an exact local; a grid leaf when there is none. */
    private Expr storedLeaf() {
        List<Supplier<Expr>> options = new ArrayList<>();
        for (Input input : declarations.inputs()) if (input.dtype().loadsAs() == Type.FLOAT) options.add(() -> load(input, 0));
        for (Param p : declarations.params()) if (p.type() == Type.FLOAT) options.add(() -> new Expr.ParamRef(p.name(), p.type()));
        for (Local l : visibleLocals(Type.FLOAT)) if (l.rounding() != Rounding.INEXACT) options.add(() -> new Expr.LocalRef(l.name(), l.type()));
        return options.isEmpty() ? grid(0) : pick(options).get();
    }

    private Map<String, Rounding> localRoundings() {
        Map<String, Rounding> roundings = new HashMap<>();
        for (Local l : locals) roundings.put(l.name(), l.rounding());
        return roundings;
    }

    private Expr loadOr(Type type, int depth) {
        List<Input> candidates = declarations.inputs().stream().filter(i -> i.dtype().loadsAs() == type).toList();
        return candidates.isEmpty() ? leaf(type) : load(pick(candidates), depth);
    }

    private Expr load(Input input, int depth) {
        List<Expr> indices = new ArrayList<>();
        for (Expr dim : input.shape()) indices.add(index(dim, depth));
        return new Expr.Load(input.name(), input.dtype(), indices);
    }

    private Expr member(int depth) {
        // The grammar has no spelling for a rank-1 table (`x in T[]` does not parse), so tables have rank 2 or more.
        List<Input> tables = declarations.inputs().stream().filter(i -> i.dtype() == DType.INT32 && i.shape().size() > 1).toList();
        if (tables.isEmpty()) return new Expr.BoolLit(random.nextBoolean());
        Input table = pick(tables);
        List<Expr> leading = new ArrayList<>();
        for (Expr dim : table.shape().subList(0, table.shape().size() - 1)) leading.add(index(dim, depth));
        return new Expr.Member(of(Type.INT, depth), table.name(), table.dtype(), leading);
    }

    /** An index into a dimension that is always in bounds: its own index variable, or {@code e % dim} (floored, so never negative). */
    private Expr index(Expr dim, int depth) {
        Expr own = ownIndex(dim);
        if (own != null && random.nextInt(4) != 0) return own;
        return new Expr.Binary(BinaryOp.MOD, of(Type.INT, depth), dim);
    }

    private Expr ownIndex(Expr dim) {
        if (!(dim instanceof Expr.SizeRef(String size))) return null;
        return switch (size) {
            case "B" -> new Expr.IndexRef(Index.B);
            case "H" -> new Expr.IndexRef(Index.H);
            case "Hkv" -> new Expr.Binary(BinaryOp.DIV, new Expr.IndexRef(Index.H),
                    new Expr.Binary(BinaryOp.DIV, new Expr.SizeRef("H"), new Expr.SizeRef("Hkv")));
            case "Nkv" -> place.perKey() ? new Expr.IndexRef(Index.KV) : null;
            case "Dv" -> place.hasOutput() ? new Expr.IndexRef(Index.D) : null;
            default -> null;
        };
    }

    private <T> T pick(List<T> options) {
        return options.get(random.nextInt(options.size()));
    }
}
