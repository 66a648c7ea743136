package attnc.run;

import attnc.ir.Pattern;
import attnc.ir.Printer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Hex SHA-256, the one content hash of the project: source files (generated wrappers), patterns
 * (tuning cache keys, exported kernels), PTX text (the module cache).
 */
public final class Sha256 {
    private Sha256() {}

    public static String hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    public static String hex(String text) {
        return hex(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Of the printed pattern: equal patterns (as IR) hash equal, whatever file they came from. */
    public static String of(Pattern pattern) {
        return hex(Printer.pattern(pattern));
    }
}
