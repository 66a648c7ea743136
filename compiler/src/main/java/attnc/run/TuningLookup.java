package attnc.run;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import java.util.Optional;

/**
 * Where tuned configurations come from (the tuner's persistent cache, when it is on the class
 * path; found with {@link java.util.ServiceLoader}). A kernel asks once per shape class.
 */
public interface TuningLookup {
    Optional<TuningConfig> lookup(Pattern pattern, Binding binding, DType dtype, String backend, String device);

    static Optional<TuningLookup> installed() {
        return java.util.ServiceLoader.load(TuningLookup.class).findFirst();
    }
}
