package attnc.pass;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.ir.Expr;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.reference.Reference;
import java.util.LinkedHashMap;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The pass pipeline never changes what a pattern computes. */
class PassesTest {

    /**
     * Some params are fixed at compile time (chosen by the bits of {@code fixed}), the rest given at
     * launch; the reference's outputs and LSE must be the same to the bit (NaN where NaN: every
     * rewrite is exact under Semantics, so no tolerance is needed).
     */
    @Property(tries = 300)
    void optimizingKeepsTheReferenceOutput(@ForAll("launches") Launch launch, @ForAll int fixed) {
        Pattern pattern = launch.pattern();
        Problem problem = launch.problem();
        Map<String, Expr> values = Binding.of(pattern, problem).params();
        Map<String, Expr> atCompileTime = new LinkedHashMap<>();
        Map<String, Expr> atLaunch = new LinkedHashMap<>();
        for (int i = 0; i < pattern.params().size(); i++) {
            Param p = pattern.params().get(i);
            if ((fixed >> i & 1) != 0) atCompileTime.put(p.name(), values.get(p.name()));
            else if (problem.params().containsKey(p.name())) atLaunch.put(p.name(), problem.params().get(p.name()));
        }
        Pattern optimized;
        try {
            optimized = Passes.optimize(pattern, atCompileTime);
        } catch (FoldConstants.FoldException e) {
            // Constants that make a divisor 0 or overflow (a fixed param's value among them) are refused by design (the
            // README's integer semantics), where at launch time they would divide to 0 or wrap. Nothing else may be refused.
            assertTrue(e.getMessage().startsWith("division by zero: ") || e.getMessage().startsWith("integer overflow: "), e.getMessage());
            return;
        }
        assertEquals(pattern.params().size() - atCompileTime.size(), optimized.params().size(), "fixed params stay in the pattern");
        Problem launchOfOptimized = new Problem(problem.q(), problem.k(), problem.v(), problem.inputs(), atLaunch, problem.queryOffset());

        Reference.Exact before = Reference.run(pattern, problem);
        Reference.Exact after = Reference.run(optimized, launchOfOptimized);
        String shown = "optimised as:\n" + Printer.pattern(optimized);
        assertArrayEquals(before.out(), after.out(), shown);
        assertArrayEquals(before.lse(), after.lse(), shown);
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}
