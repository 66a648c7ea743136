package attnc.run;

import attnc.ir.Pattern;

/**
 * A compiled pattern, ready to run. Every backend's kernels have this call shape, so a user
 * switches backend by one argument. {@link #forward} checks the problem against the pattern
 * ({@link Binding#of}) before it computes anything.
 */
public interface Kernel extends AutoCloseable {

    Pattern pattern();

    Result forward(Problem problem);

    /** Releases native resources (GPU modules, thread pools); a no-op for most CPU kernels. */
    @Override
    default void close() {}
}
