package attnc.cli;

import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The options of {@code run} that make its launch a ragged one over a paged KV cache. */
final class ServingOptions {
    @Option(names = "--kv-lengths", paramLabel = "L1,L2,...", converter = LengthsConverter.class,
            description = "Run a ragged launch over a paged KV cache: one sequence per length, each with that many keys (0 allowed). "
                    + "--shape then gives H and D only.")
    Lengths kvLengths;

    @Option(names = "--q-lengths", paramLabel = "N1,N2,...", converter = LengthsConverter.class,
            description = "Queries of each sequence, as many as --kv-lengths (default: 1 each, a decode step).")
    Lengths qLengths;

    @Option(names = "--page-size", paramLabel = "N", description = "Positions per page of the KV cache, a power of two from 1 to 256 (default: 16).")
    Integer pageSize;

    @Option(names = "--split-kv", paramLabel = "N",
            description = "Split each sequence's keys into N chunks merged by their LSE, 1 to 4096 (default: the backend chooses).")
    Integer splitKv;

    /** Comma-separated lengths (a record, not an int[], which picocli would take for a repeated option). */
    record Lengths(int[] values) {}

    boolean ragged() { return kvLengths != null; }

    int[] keys() { return kvLengths.values(); }

    /** The values, checked; each mistake is one line naming the option. */
    void check() {
        if (!ragged()) {
            String stray = qLengths != null ? "--q-lengths" : pageSize != null ? "--page-size" : splitKv != null ? "--split-kv" : null;
            if (stray != null) throw new UserError(stray + " needs --kv-lengths (the keys of each sequence of a ragged launch)");
            return;
        }
        if (qLengths != null && qLengths.values().length != keys().length) {
            throw new UserError("--q-lengths: expected " + keys().length + " lengths, one per --kv-lengths entry, got " + qLengths.values().length);
        }
        int page = pageSize();
        if (page < 1 || page > 256 || Integer.bitCount(page) != 1) throw new UserError("--page-size must be a power of two from 1 to 256, got " + page);
        if (splitKv != null && (splitKv < 1 || splitKv > 4096)) throw new UserError("--split-kv must be from 1 to 4096, got " + splitKv);
    }

    int pageSize() { return pageSize == null ? 16 : pageSize; }

    int[] queries() {
        if (qLengths != null) return qLengths.values();
        int[] ones = new int[keys().length];
        Arrays.fill(ones, 1);
        return ones;
    }

    /** Comma-separated lengths, each from 0 to 2^31 − 1. */
    static final class LengthsConverter implements CommandLine.ITypeConverter<Lengths> {
        @Override
        public Lengths convert(String value) {
            String[] parts = value.split(",", -1);
            int[] lengths = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    lengths[i] = Integer.parseInt(parts[i].strip());
                } catch (NumberFormatException e) {
                    throw new CommandLine.TypeConversionException("expected comma-separated lengths (integers >= 0), got '" + parts[i] + "' in '" + value + "'");
                }
                if (lengths[i] < 0) throw new CommandLine.TypeConversionException("expected lengths >= 0, got " + lengths[i] + " in '" + value + "'");
            }
            return new Lengths(lengths);
        }
    }
}
