package attnc.jvm.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Defines generated kernel classes as hidden classes in this package (their bytecode calls the
 * package's runtime: {@link Lanes}, {@link Tiles}, {@link Env}). A hidden class is unloaded
 * with its last kernel and never clashes with another pattern's class of the same name.
 */
public final class KernelLoader {
    private KernelLoader() {}

    public static TileKernel load(byte[] classBytes) {
        return load(classBytes, TileKernel.class);
    }

    /** A generated class of any template ({@link TileKernel}, {@link GradKernel}), instantiated. */
    public static <T> T load(byte[] classBytes, Class<T> type) {
        try {
            MethodHandles.Lookup hidden = MethodHandles.lookup().defineHiddenClass(classBytes, true);
            return type.cast(hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class)).invoke());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot load a generated kernel class", e);
        }
    }
}
