package attnc.ir;

import java.util.List;

/**
 * The sizes every pattern can name; inputs may introduce more (a top-k count, a block count).
 * {@code Q0} is the query offset, the absolute position of the first query: a tensor over the
 * queries of this launch is indexed by {@code q - Q0}.
 */
public final class Sizes {
    public static final List<String> STANDARD = List.of("B", "H", "Hkv", "Nq", "Nkv", "D", "Dv", "Q0");

    private Sizes() {}
}
