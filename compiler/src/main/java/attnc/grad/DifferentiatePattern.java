package attnc.grad;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.pass.FoldConstants;
import attnc.pass.ShareCommonSubexpressions;
import attnc.pass.Simplify;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The derivative pass: differentiates a pattern's score, scale, norm value and output
 * symbolically ({@link Differentiate}) with respect to {@code s}, {@code o} and every float load
 * site ({@link FloatLoadSites}), and tidies each result with the forward's passes (fold, simplify,
 * share). The mask and selection are not differentiated.
 */
public final class DifferentiatePattern {
    private DifferentiatePattern() {}

    public static Derivatives differentiate(Pattern pattern) {
        Expr score = prepare(pattern.score());
        Expr output = prepare(pattern.output());
        List<LoadPartial> loads = new ArrayList<>();
        addPartials(Section.SCORE, score, loads);
        addPartials(Section.SCALE, prepare(pattern.scale()), loads);
        normValue(pattern.norm()).ifPresent(value -> addPartials(Section.NORM, prepare(value), loads));
        addPartials(Section.OUTPUT, output, loads);
        return new Derivatives(tidy(Differentiate.derivative(score, new Expr.ScoreRef())),
                tidy(Differentiate.derivative(output, new Expr.OutputRef())), loads);
    }

    /** The sink logit or the sigmoid bias: the norm's one value with a gradient. */
    private static Optional<Expr> normValue(Norm norm) {
        return switch (norm) {
            case Norm.Softmax(var sink) -> sink;
            case Norm.Sigmoid(Expr bias) -> Optional.of(bias);
            case Norm.Identity none -> Optional.empty();
        };
    }

    private static void addPartials(Section section, Expr e, List<LoadPartial> into) {
        for (Expr.Load site : FloatLoadSites.of(e)) into.add(new LoadPartial(section, site, tidy(Differentiate.derivative(e, site))));
    }

    /** Let-free and simplified, so that load sites are closed and spelled as in their partials. */
    private static Expr prepare(Expr e) {
        return Simplify.simplify(FoldConstants.fold(InlineLets.inline(e), Map.of()));
    }

    private static Expr tidy(Expr e) {
        return ShareCommonSubexpressions.share(Simplify.simplify(FoldConstants.fold(e, Map.of())));
    }
}
