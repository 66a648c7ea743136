package attnc.lower;

import attnc.grad.Derivatives;
import attnc.grad.DifferentiatePattern;
import attnc.grad.LoadPartial;
import attnc.ir.Pattern;
import java.util.ArrayList;
import java.util.List;

/**
 * The stage between the derivative pass and the backward kernels: every derivative lowered and
 * through the program passes ({@link LowerPattern#optimize}); the sites of one section, which a
 * kernel evaluates at the same points, on one instruction list ({@link LoweredBackward#sharedBySection}).
 */
public final class LowerBackward {
    private LowerBackward() {}

    public static LoweredBackward lower(Pattern pattern) {
        Derivatives derivatives = DifferentiatePattern.differentiate(pattern);
        List<LoweredBackward.Site> sites = new ArrayList<>();
        for (LoadPartial site : derivatives.loads()) {
            sites.add(new LoweredBackward.Site(site.section(), site.input(), LowerPattern.optimize(Lowering.offsetOf(pattern, site.load())),
                    LowerPattern.program(pattern, site.partial()), site.summedOver()));
        }
        return new LoweredBackward(LowerPattern.lower(pattern), LowerPattern.program(pattern, derivatives.scoreByS()),
                LowerPattern.program(pattern, derivatives.outputByO()), LoweredBackward.sharedBySection(sites));
    }
}
