package attnc.ir;

import java.util.List;

/** The sizes every pattern can name; inputs may introduce more (a top-k count, a block count). */
public final class Sizes {
    public static final List<String> STANDARD = List.of("B", "H", "Hkv", "Nq", "Nkv", "D", "Dv");

    private Sizes() {}
}
