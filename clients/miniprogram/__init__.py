"""A sample mini-program back end that signs people in through Tongban's token exchange."""
