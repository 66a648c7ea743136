package attnc.gen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.ir.UnaryOp;
import attnc.reference.Reference;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The generators themselves: broad enough to mean something, and tame when asked. */
class GeneratorsTest {

    /** 500 patterns use every kind of node, operator, built-in, dtype and normalisation. */
    @Example
    void generatedPatternsCoverTheLanguage() {
        Set<Class<?>> nodes = new HashSet<>();
        Set<Class<?>> norms = new HashSet<>();
        EnumSet<BinaryOp> binaries = EnumSet.noneOf(BinaryOp.class);
        EnumSet<UnaryOp> unaries = EnumSet.noneOf(UnaryOp.class);
        EnumSet<Builtin> builtins = EnumSet.noneOf(Builtin.class);
        EnumSet<DType> dtypes = EnumSet.noneOf(DType.class);
        boolean shadowing = false, select = false, tile = false, params = false;
        Random random = new Random(11);
        for (int i = 0; i < 500; i++) {
            Pattern p = PatternGenerator.generate(random, 4);
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
