package attnc.lower;

import attnc.grad.Derivatives;
import attnc.grad.DifferentiatePattern;
import attnc.grad.LoadPartial;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import java.util.ArrayList;
import java.util.List;

/** The stage between the derivative pass and the backward kernels: every derivative lowered and strength-reduced. */
public final class LowerBackward {
    private LowerBackward() {}

    public static LoweredBackward lower(Pattern pattern) {
        Derivatives derivatives = DifferentiatePattern.differentiate(pattern);
        List<LoweredBackward.Site> sites = new ArrayList<>();
        for (LoadPartial site : derivatives.loads()) {
            sites.add(new LoweredBackward.Site(site.section(), site.input(), StrengthReduce.reduce(Lowering.offsetOf(pattern, site.load())),
                    program(pattern, site.partial()), site.summedOver()));
        }
        return new LoweredBackward(LowerPattern.lower(pattern), program(pattern, derivatives.scoreByS()), program(pattern, derivatives.outputByO()), sites);
    }

    private static Program program(Pattern pattern, Expr e) {
        return StrengthReduce.reduce(Lowering.lower(pattern, e));
    }
}
