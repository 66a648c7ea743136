package attnc.jvm;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.reference.Reference;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The JVM kernel against the reference on the compiler's shared random patterns, which use every
 * operator of the language in every section (int, float and bool, each comparison, lets,
 * conditionals, loads, {@code in}) with values kept finite ({@code Patterns.tameLaunches}):
 * RandomPatterns covers the pattern families, this covers the operators in each place they can
 * stand (per key in vectors, per row in scalars).
 */
class SharedGeneratorDifferentialTest {
    @Property(tries = 150)
    void kernelAgreesWithReferenceOnEveryOperator(@ForAll("launches") Launch launch) {
        // The generator's tile: sections have any size; the JVM backend refuses those that are not a multiple of its vector (its own test).
        Pattern pattern = Passes.optimize(launch.pattern().withTile(java.util.Optional.empty()), Map.of());
        JvmKernel kernel = new JvmBackend().compile(pattern);
        Agreement.check(Reference.run(pattern, launch.problem()), kernel.forward(launch.problem()), launch.toString());
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.tameLaunches(4);
    }
}
