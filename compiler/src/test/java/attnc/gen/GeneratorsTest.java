package attnc.gen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.grad.InlineLets;
import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import attnc.launch.Binding;
import attnc.reference.Reference;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The generators themselves: broad enough to mean something, and tame when asked. */
class GeneratorsTest {

    /** 500 patterns use every kind of node, operator, built-in, dtype and normalisation; so do tame ones, and they compare floats by every comparison. */
    @Example
    void generatedPatternsCoverTheLanguage() {
        assertCovers(Style.ANY);
        assertCovers(Style.TAME);
        EnumSet<BinaryOp> floatComparisons = EnumSet.noneOf(BinaryOp.class);
        Random random = new Random(12);
        for (int i = 0; i < 500; i++) {
            for (Expr e : Sections.expressions(PatternGenerator.generate(random, 4, Style.TAME))) {
                ExprTree.any(e, x -> x instanceof Expr.Binary b && b.op().yieldsBool() && b.left().type() == Type.FLOAT && floatComparisons.add(b.op()));
            }
        }
        assertEquals(EnumSet.of(BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE, BinaryOp.EQ, BinaryOp.NE), floatComparisons);
    }

    private static void assertCovers(Style style) {
        Set<Class<?>> nodes = new HashSet<>();
        Set<Class<?>> norms = new HashSet<>();
        EnumSet<BinaryOp> binaries = EnumSet.noneOf(BinaryOp.class);
        EnumSet<UnaryOp> unaries = EnumSet.noneOf(UnaryOp.class);
        EnumSet<Builtin> builtins = EnumSet.noneOf(Builtin.class);
        EnumSet<DType> dtypes = EnumSet.noneOf(DType.class);
        boolean shadowing = false, select = false, tile = false, params = false;
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            Pattern p = PatternGenerator.generate(random, 4, style);
            norms.add(p.norm().getClass());
            select |= p.select().isPresent();
            tile |= p.tile().isPresent();
            params |= p.params().stream().anyMatch(x -> x.defaultValue().isEmpty()) && p.params().stream().anyMatch(x -> x.defaultValue().isPresent());
            for (Input input : p.inputs()) dtypes.add(input.dtype());
            for (Expr e : Sections.expressions(p)) {
                ExprTree.any(e, x -> {
                    nodes.add(x.getClass());
                    if (x instanceof Expr.Binary b) binaries.add(b.op());
                    if (x instanceof Expr.Unary u) unaries.add(u.op());
                    if (x instanceof Expr.Call c) builtins.add(c.fn());
                    return false;
                });
                shadowing |= shadows(e, new HashSet<>());
            }
        }
        assertEquals(Set.of(Expr.class.getPermittedSubclasses()), nodes);
        assertEquals(EnumSet.allOf(BinaryOp.class), binaries);
        assertEquals(EnumSet.allOf(UnaryOp.class), unaries);
        assertEquals(EnumSet.allOf(Builtin.class), builtins);
        assertEquals(EnumSet.allOf(DType.class), dtypes);
        assertEquals(3, norms.size());
        assertTrue(shadowing && select && tile && params, "shadowing lets, select, tile and params with and without defaults");
    }

    /**
     * In tame launches every operand of a step (a comparison of floats, floor, int()) is computed
     * alike in fp32 and double (ExprGenerator.stepOperand says why): it uses only operations that
     * are exact or correctly rounded in both (literals, loads, params, float(), +, -, *, neg, abs,
     * min, max, floor, ?:), and each of its float values is an fp32 number — then rounding to fp32
     * or to double gives that same number at every node, so the kernels decide as the reference does.
     */
    @Property(tries = 300)
    void tameStepsHaveExactOperands(@ForAll("tame") Launch launch) {
        Binding binding = Binding.of(launch.pattern(), launch.problem());
        ScalarEvaluator evaluator = ScalarEvaluator.of(binding, launch.problem().inputs());
        Random random = new Random(launch.toString().hashCode());
        for (Expr e : Sections.expressions(launch.pattern())) {
            for (int i = 0; i < 5; i++) {
                Point at = RandomProblems.point(binding, random);
                String inexact = inexactStep(InlineLets.inline(e), evaluator, at);
                assertNull(inexact, () -> "step with an inexact operand at " + at + ": " + inexact + "\n" + launch);
            }
        }
    }

    /** The check itself: the mask the old generator made (seed 12 of DecodeKernelTest's cases) is caught, where it decides wrongly. */
    @Example
    void anOperandThatRoundsIsCaught() {
        Expr q = new Expr.Call(Builtin.FLOAT, List.of(new Expr.IndexRef(Index.Q)));
        Expr mask = new Expr.Binary(BinaryOp.NE, new Expr.Binary(BinaryOp.MUL, q, new Expr.Call(Builtin.TANH, List.of(q))), q);
        Expr halved = new Expr.Binary(BinaryOp.NE, new Expr.Binary(BinaryOp.MUL, q, new Expr.FloatLit(0.5)), q);
        ScalarEvaluator evaluator = new ScalarEvaluator(Map.of(), Map.of(), Map.of());
        Point at = new Point(0, 0, 12, 0, 0, 0, 0);
        assertNotNull(inexactStep(mask, evaluator, at));
        assertNull(inexactStep(halved, evaluator, at));
    }

    /** The first step in {@code e} (free of lets) with an operand that may round differently in fp32 and double at {@code at}, or null. */
    private static String inexactStep(Expr e, ScalarEvaluator evaluator, Point at) {
        List<String> found = new ArrayList<>();
        ExprTree.any(e, x -> {
            List<Expr> operands = switch (x) {
                case Expr.Binary b when b.op().yieldsBool() && b.left().type() == Type.FLOAT -> List.of(b.left(), b.right());
                case Expr.Call c when c.fn() == Builtin.FLOOR || c.fn() == Builtin.INT -> c.args();
                default -> List.of();
            };
            for (Expr operand : operands) {
                ExprTree.any(operand, node -> {
                    if (node.type() != Type.FLOAT) return false;
                    boolean exactOp = switch (node) {
                        case Expr.FloatLit l -> true;
                        case Expr.Load l -> true;
                        case Expr.ParamRef p -> true;
                        case Expr.Unary u -> true;
                        case Expr.Conditional c -> true;
                        case Expr.Binary b -> b.op() == BinaryOp.ADD || b.op() == BinaryOp.SUB || b.op() == BinaryOp.MUL;
                        case Expr.Call c -> EnumSet.of(Builtin.FLOAT, Builtin.ABS, Builtin.MIN, Builtin.MAX, Builtin.FLOOR).contains(c.fn());
                        default -> false;
                    };
                    double value = (Double) evaluator.eval(node, at);
                    if (!exactOp || (double) (float) value != value) found.add(Printer.expr(node) + " = " + value + " in " + Printer.expr(x));
                    return !found.isEmpty();
                });
            }
            return !found.isEmpty();
        });
        return found.isEmpty() ? null : found.getFirst();
    }

    /** Tame launches give finite outputs and LSEs (−∞ only for a row with nothing visible). */
    @Property(tries = 200)
    void tameLaunchesStayFinite(@ForAll("tame") Launch launch) {
        Reference.Exact result = Reference.run(launch.pattern(), launch.problem());
        for (double out : result.out()) assertTrue(Double.isFinite(out) && Math.abs(out) < 1e6, () -> "output " + out + "\n" + launch);
        if (result.lse() != null) {
            for (double lse : result.lse()) assertTrue(Double.isFinite(lse) || lse == Double.NEGATIVE_INFINITY, () -> "LSE " + lse + "\n" + launch);
        }
    }

    @Provide
    Arbitrary<Launch> tame() {
        return Patterns.tameLaunches(4);
    }

    private static boolean shadows(Expr e, Set<String> bound) {
        if (e instanceof Expr.Let let) {
            if (bound.contains(let.name())) return true;
            Set<String> inner = new HashSet<>(bound);
            inner.add(let.name());
            return shadows(let.value(), bound) || shadows(let.body(), inner);
        }
        for (Expr child : ExprTree.children(e)) if (shadows(child, bound)) return true;
        return false;
    }
}
