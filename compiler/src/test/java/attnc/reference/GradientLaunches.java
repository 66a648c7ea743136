package attnc.reference;

import attnc.gen.Launch;
import attnc.gen.PatternGenerator;
import attnc.gen.RandomProblems;
import attnc.gen.Style;
import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Pattern;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Tame random launches from the shared generator, steered so that gradients have something to
 * flow through: a random mask hides every key about half the time, so three launches in four
 * take a mask that keeps keys (true, causal, or the generated one or-ed with causal); a score
 * that ignores {@code s} gets {@code s +} in front, and an output that ignores {@code o} becomes
 * {@code o *} it. The generated expressions stay whole inside.
 */
final class GradientLaunches {
    private GradientLaunches() {}

    static Arbitrary<Launch> launches(int maxDepth) {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, maxDepth))
                .as((seed, depth) -> launch(new Random(seed), depth));
    }

    static Launch launch(Random random, int depth) {
        Pattern pattern = steer(PatternGenerator.generate(random, depth, Style.TAME), random);
        return new Launch(pattern, RandomProblems.problem(pattern, random));
    }

    private static Pattern steer(Pattern p, Random random) {
        Expr causal = new Expr.Binary(BinaryOp.GE, new Expr.IndexRef(Index.Q), new Expr.IndexRef(Index.KV));
        Pattern steered = switch (random.nextInt(4)) {
            case 0 -> p;
            case 1 -> p.withMask(new Expr.BoolLit(true)).withSelect(Optional.empty());
            case 2 -> p.withMask(causal).withSelect(Optional.empty());
            default -> p.withMask(new Expr.Binary(BinaryOp.OR, p.mask(), causal)).withSelect(Optional.empty());
        };
        if (!ExprTree.any(p.score(), e -> e instanceof Expr.ScoreRef)) {
            steered = steered.withScore(new Expr.Binary(BinaryOp.ADD, new Expr.ScoreRef(), p.score()));
        }
        if (!ExprTree.any(p.output(), e -> e instanceof Expr.OutputRef)) {
            steered = steered.withOutput(new Expr.Binary(BinaryOp.MUL, new Expr.OutputRef(), p.output()));
        }
        return steered;
    }
}
