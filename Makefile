# expand_contract — PGXS build (canonical). CMakeLists.txt builds the same library.
PG_CONFIG ?= pg_config

EXTENSION  = expand_contract
MODULE_big = expand_contract
DATA       = extension/expand_contract--0.1.sql extension/expand_contract--0.1--0.2.sql

SRCS = $(wildcard src/*.cpp) $(wildcard src/*/*.cpp)
OBJS = $(SRCS:.cpp=.o)
EC_HEADER_FILES = $(wildcard src/*.hpp) $(wildcard src/*/*.hpp)

PG_CXXFLAGS = -std=c++17 -Wno-register -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK += -lstdc++

# pg_regress: one file per operation and per phase; isolation specs in specs/.
REGRESS      = $(basename $(notdir $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=expand_contract
ISOLATION    = $(basename $(notdir $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=expand_contract

# The JIT bitcode step needs clang; this extension does not ship bitcode.
override with_llvm = no

# The command-line client: a program of its own against libpq (PGXS's
# PROGRAM would share OBJS with MODULE_big), built by `all`, installed
# into PostgreSQL's bindir by `install`.
CLIENT       = expand-contract
CLIENT_SRCS  = $(wildcard client/*.cpp)
CLIENT_OBJS  = $(CLIENT_SRCS:.cpp=.o)
CLIENT_CXXFLAGS = -std=c++17 -O2 -g -Wall -Wextra -I$(shell $(PG_CONFIG) --includedir)
CLIENT_LIBS  = -L$(shell $(PG_CONFIG) --libdir) -lpq -lyaml-cpp
EXTRA_CLEAN  = $(CLIENT) $(CLIENT_OBJS)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(EC_HEADER_FILES)

all: $(CLIENT)

client/%.o: client/%.cpp $(wildcard client/*.hpp)
	$(CXX) $(CLIENT_CXXFLAGS) -c -o $@ $<

$(CLIENT): $(CLIENT_OBJS)
	$(CXX) -o $@ $(CLIENT_OBJS) $(CLIENT_LIBS)

install: install-client
install-client: $(CLIENT)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(CLIENT) '$(DESTDIR)$(bindir)/$(CLIENT)'

.PHONY: install-client
