package attnc.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** How random inputs are drawn, for every command that makes some: the seed, int32 bounds, symbolic sizes. */
final class RandomData {
    /** Symbolic sizes (a top-k count, a bucket count) need a value before random inputs can be made. */
    static final int DEFAULT_SYMBOLIC_SIZE = 8;
    static final int DEFAULT_INT_BOUND = 8;

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
