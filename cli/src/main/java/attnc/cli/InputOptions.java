package attnc.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options of {@code run} and {@code plot} that decide a pattern's params and its random inputs. */
final class InputOptions {
    /** Symbolic sizes (a top-k count, a bucket count) need a value before random inputs can be made. */
    static final int DEFAULT_SYMBOLIC_SIZE = 8;
    static final int DEFAULT_INT_BOUND = 8;

    @Option(names = "--param", paramLabel = "NAME=VALUE", description = "Sets a param (repeatable).")
    Map<String, String> params = new LinkedHashMap<>();

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the random tensors (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--int-max", paramLabel = "N", defaultValue = "" + DEFAULT_INT_BOUND,
            description = "Random int32 inputs are uniform in [0, N) (default: ${DEFAULT-VALUE}); pass real ids, lengths or "
                    + "selections with --inputs.")
    int intBound;

    @Option(names = "--size", paramLabel = "NAME=N",
            description = "Value of a symbolic size used in an input's shape (default " + DEFAULT_SYMBOLIC_SIZE + ").")
    Map<String, Integer> sizes = new LinkedHashMap<>();
}
