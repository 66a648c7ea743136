package attnc.reference;

import attnc.ir.Pattern;
import attnc.launch.Gradients;
import attnc.launch.Partial;
import attnc.launch.RaggedBatch;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.run.Backend;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.util.Set;

/** The reference as a backend, so it runs through the same {@link Kernel} calls as the others. */
public final class ReferenceBackend implements Backend {
    @Override public String name() { return "reference"; }

    @Override public boolean hasBackward() { return true; }

    @Override
    public Kernel compile(Pattern pattern) {
        return new Kernel() {
            @Override public Pattern pattern() { return pattern; }

            @Override public Result forward(Problem problem) { return Reference.run(pattern, problem).toResult(); }

            @Override public Result forward(RaggedBatch batch) { return RaggedReference.run(pattern, batch).toResult(); }

            @Override
            public Partial partial(RaggedBatch batch, int kvFrom, int kvTo) {
                Kernel.requireKeyRange(kvFrom, kvTo);
                Result part = RaggedReference.partial(pattern, batch, kvFrom, kvTo).toResult();
                int[] shape = part.outShape();
                return new Partial(Tensor.wrap(part.out(), shape),
                        part.lse() == null ? null : Tensor.wrap(part.lse(), shape[0], shape[1]));
            }

            @Override public Result finish(RaggedBatch batch, Partial merged) { return RaggedReference.finish(pattern, batch, merged).toResult(); }

            @Override
            public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
                return ReferenceBackward.run(pattern, problem, forward, dOut, wanted).toGradients();
            }

            /** Sums in a fixed order, in double: every run gives the same bits. */
            @Override
            public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
                return backward(problem, forward, dOut, wanted);
            }
        };
    }
}
