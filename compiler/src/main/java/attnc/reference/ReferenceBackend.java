package attnc.reference;

import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.run.Backend;
import attnc.run.Kernel;

/** The reference as a backend, so it runs through the same {@link Kernel} call as the others. */
public final class ReferenceBackend implements Backend {
    @Override public String name() { return "reference"; }

    @Override
    public Kernel compile(Pattern pattern) {
        return new Kernel() {
            @Override public Pattern pattern() { return pattern; }

            @Override public Result forward(Problem problem) { return Reference.run(pattern, problem).toResult(); }
        };
    }
}
