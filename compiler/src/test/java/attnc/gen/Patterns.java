package attnc.gen;

import attnc.ir.Pattern;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * jqwik arbitraries of random patterns and launches, for any module's tests. Each value comes
 * from a seed and a depth, so shrinking moves toward shallow expressions and small seeds.
 */
public final class Patterns {
    private Patterns() {}

    /** Random patterns with expressions up to {@code maxDepth} operations deep. */
    public static Arbitrary<Pattern> patterns(int maxDepth) {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, maxDepth))
                .as((seed, depth) -> PatternGenerator.generate(new Random(seed), depth));
    }

    /** A random pattern together with a random launch of it (small shapes, every input and param filled in). */
    public static Arbitrary<Launch> launches(int maxDepth) {
        return launches(maxDepth, Style.ANY);
    }

    /** Launches whose every value is finite and moderate (see {@link Style#TAME}): for kernels held to a tolerance. */
    public static Arbitrary<Launch> tameLaunches(int maxDepth) {
        return launches(maxDepth, Style.TAME);
    }

    private static Arbitrary<Launch> launches(int maxDepth, Style style) {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, maxDepth)).as((seed, depth) -> {
            Random random = new Random(seed);
            Pattern pattern = PatternGenerator.generate(random, depth, style);
            return new Launch(pattern, RandomProblems.problem(pattern, random));
        });
    }
}
